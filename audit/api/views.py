"""The compliance officer's view of the audit trail. Reads of it are audited too, by
the selectors that make them (``audit.selectors``).

``audit`` imports no other app: the caller's membership comes from the default
permission class (``request.member``), and the selectors check the role by name.
Lists page with the project's one cursor class (DRF's ``DEFAULT_PAGINATION_CLASS``).
"""

from __future__ import annotations

from django.db import transaction
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import alerts, selectors
from audit.api.export import CONTENT_TYPES, export_response
from audit.api.serializers import (
    AlertAcknowledgeSerializer,
    AlertSerializer,
    AuditEntrySerializer,
    DisclosureSerializer,
    ExportQuerySerializer,
    VerifyResultSerializer,
)
from audit.filters import (
    SURVIVOR_REF,
    AlertFilter,
    AuditEntryFilter,
    DisclosureFilter,
    applied_filters,
)
from audit.models import Alert, AuditEntry, Disclosure


def _filtered(filterset_class, request, queryset):
    """The request's filters over ``queryset``, valid or a 400 (``invalid``)."""
    found = filterset_class(request.query_params, queryset=queryset, request=request)
    if not found.is_valid():
        raise translate_validation(found.errors)
    return found


class AuditEntryListView(GenericAPIView):
    """Filter the trail (actor, agency, action, object, survivor_ref, outcome, since,
    until), newest first; ``?format=csv`` or ``?format=json`` streams every match in
    chain order (NDJSON) instead of a page."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter  # the schema's parameters; ``get`` applies it
    queryset = AuditEntry.objects.none()  # schema only

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={
            (200, "application/json"): AuditEntrySerializer(many=True),
            (200, CONTENT_TYPES["csv"]): OpenApiResponse(
                OpenApiTypes.STR, description="with ?format=csv: every match, one per row"
            ),
            (200, CONTENT_TYPES["json"]): OpenApiResponse(
                OpenApiTypes.STR, description="with ?format=json: every match, one per line"
            ),
        },
    )
    def get(self, request):
        actor = request.member.as_actor()
        entries = selectors.audit_entries(actor=actor)
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = _filtered(AuditEntryFilter, request, entries)
        filters = applied_filters(found)
        export = query.validated_data.get("format")
        if export:
            entries = selectors.audit_entries_exported(
                actor=actor, entries=found.qs, export_format=export, filters=filters
            )
            return export_response(entries, export)
        with transaction.atomic():
            page = self.paginate_queryset(found.qs)
            shown = selectors.audit_entries_shown(actor=actor, page=page, filters=filters)
            return self.get_paginated_response(self.get_serializer(shown, many=True).data)


class AuditVerifyView(APIView):
    """Recompute the chain against the stored signed checkpoints."""

    @extend_schema(responses=VerifyResultSerializer)
    def get(self, request):
        result = selectors.audit_chain_verified(actor=request.member.as_actor())
        return Response(VerifyResultSerializer(result.as_dict()).data)


class DisclosureLedgerView(GenericAPIView):
    """A survivor's disclosure ledger (``?survivor_ref=S-…``, optional ``since`` and
    ``until``), newest first: every disclosure of their data to another agency, its
    categories and the consents that authorised it. Compliance officers; each page is
    audited."""

    serializer_class = DisclosureSerializer
    filterset_class = DisclosureFilter  # the schema's parameters; ``get`` applies it
    queryset = Disclosure.objects.none()  # schema only

    @extend_schema(
        parameters=[
            OpenApiParameter("survivor_ref", str, required=True, pattern=SURVIVOR_REF.regex.pattern)
        ],
        responses=DisclosureSerializer(many=True),
    )
    def get(self, request):
        actor = request.member.as_actor()
        found = _filtered(DisclosureFilter, request, selectors.disclosure_ledger(actor=actor))
        with transaction.atomic():
            page = self.paginate_queryset(found.qs)
            shown = selectors.ledger_shown(
                actor=actor, survivor_ref=found.form.cleaned_data["survivor_ref"], page=page
            )
            return self.get_paginated_response(self.get_serializer(shown, many=True).data)


class AlertListView(GenericAPIView):
    """Access alerts (rule, member, agency, acknowledged, after, since, until), newest
    first. Compliance officers; each page is audited."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilter  # the schema's parameters; ``get`` applies it
    queryset = Alert.objects.none()  # schema only

    @extend_schema(responses=AlertSerializer(many=True))
    def get(self, request):
        actor = request.member.as_actor()
        found = _filtered(AlertFilter, request, alerts.alerts(actor=actor))
        with transaction.atomic():
            page = self.paginate_queryset(found.qs)
            shown = alerts.alerts_shown(actor=actor, page=page, filters=applied_filters(found))
            return self.get_paginated_response(self.get_serializer(shown, many=True).data)


ACKNOWLEDGE_RESPONSES = {
    200: AlertSerializer,
    409: OpenApiResponse(description="Already acknowledged (code already_acknowledged)."),
}


class AlertAcknowledgeView(APIView):
    """Acknowledge an alert once, with a note. Compliance officers; audited."""

    @extend_schema(request=AlertAcknowledgeSerializer, responses=ACKNOWLEDGE_RESPONSES)
    def post(self, request, alert_id: int):
        actor = selectors.require_compliance_officer(request.member.as_actor())
        body = AlertAcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = alerts.alert_acknowledge(actor=actor, alert_id=alert_id, **body.validated_data)
        return Response(AlertSerializer(alert).data)
