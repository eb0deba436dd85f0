"""The record around the referral as FHIR: ``Consent`` (the caller's agency's consent
records, as ``/api/v1/consents/`` shows them), ``AuditEvent`` (compliance officers
only, as ``/api/v1/audit/entries/`` lists them) and the ``CapabilityStatement``."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from agencies.errors import NotFound
from agencies.models import Role
from agencies.permissions import role_required
from agencies.routes import route
from audit import selectors as audit_selectors
from coordination import presenters, selectors
from coordination.fhir import capability, mapping, search
from coordination.fhir.bundles import pagination_class, searchset
from coordination.fhir.rendering import FhirView


def _consents(member):
    return selectors.consents_of(member).annotate(
        last_updated=Coalesce("revocation__revoked_at", "recorded_at")
    )


def _consent(consent, member) -> dict:
    return mapping.consent(presenters.consent_shown(consent), member.agency_id, timezone.now())


@route("Consent", name="consent-search")
class ConsentSearch(FhirView):
    permission_classes = [role_required(Role.LIAISON)]

    def get(self, request):
        condition, _ = search.last_updated(request.query_params, "last_updated")
        consents = _consents(request.member).filter(condition)
        paginator = pagination_class()()
        with transaction.atomic():
            page = paginator.paginate_queryset(consents, request, view=self)
            shown = selectors.consents_shown(request.member, page)
        return searchset(request, paginator, [_consent(c, request.member) for c in shown])


@route("Consent/<uuid:consent_id>", name="consent-read")
class ConsentRead(FhirView):
    """One consent record of the caller's agency, audited as the list of it alone."""

    permission_classes = [role_required(Role.LIAISON)]

    def get(self, request, consent_id):
        search.check_format(request.query_params)
        with transaction.atomic():
            consent = _consents(request.member).filter(pk=consent_id).first()
            if consent is None:
                raise NotFound
            selectors.consents_shown(request.member, [consent])
        return Response(_consent(consent, request.member))


@route("AuditEvent", name="auditevent-search")
class AuditEventSearch(FhirView):
    """The audit trail, newest first (``_lastUpdated`` on the entry's time). The
    selector refuses anyone but a compliance officer (403, audited)."""

    def get(self, request):
        actor = request.member.as_actor()
        entries = audit_selectors.audit_entries(actor=actor)
        condition, filters = search.last_updated(request.query_params, "at")
        paginator = pagination_class()()
        with transaction.atomic():
            page = paginator.paginate_queryset(entries.filter(condition or Q()), request, view=self)
            shown = audit_selectors.audit_entries_shown(actor=actor, page=page, filters=filters)
        return searchset(request, paginator, [mapping.audit_event(entry) for entry in shown])


@route("metadata", name="metadata")
class Metadata(FhirView):
    """What the face supports. It holds no data: anyone may read it, unaudited."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        search.check_format(request.query_params)
        return Response(capability.statement())
