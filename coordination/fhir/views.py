"""The referral as FHIR: ``ServiceRequest`` (the referral), ``Task`` (one per
recipient status shown) and ``Patient`` (the survivor, released fields only).

Each view reads through the REST API's selectors (so the same audit entries are
written and the access rule is asked once) and maps the presenters' output. A
referral's resources carry the referral's creation time as ``meta.lastUpdated`` and
``_lastUpdated`` selects on it: a later status change may be one consent hides from
the referrer, and its time would tell it apart (the event stream is the way to follow
changes, under the rule per event).
"""

from __future__ import annotations

from django.db import transaction
from rest_framework.response import Response

from agencies.errors import NotFound
from agencies.models import Role
from agencies.permissions import role_required
from agencies.routes import route
from coordination import presenters, selectors, services
from coordination.fhir import mapping, search
from coordination.fhir.bundles import pagination_class, searchset
from coordination.fhir.rendering import FhirView

REFERRAL_ROLES = role_required(Role.LIAISON, Role.CASEWORKER)


def _search(view, request, scoped, updated: str, show, resources_of) -> Response:
    """A searchset of a page of the ``scoped`` queryset (``_lastUpdated`` on its field
    ``updated``), shown by ``show(member, page)`` (the selector that audits it) in one
    transaction with the read, and mapped by ``resources_of(page, shown)``."""
    condition, _ = search.last_updated(request.query_params, updated)
    paginator = pagination_class()()
    with transaction.atomic():
        page = paginator.paginate_queryset(scoped.filter(condition), request, view=view)
        resources = resources_of(page, show(request.member, page))
    return searchset(request, paginator, resources)


def _referral_page(view, request, present) -> Response:
    """A page of the referrals the member may see (``_lastUpdated`` on their creation),
    shown as the REST list shows it (one ``list`` entry) and mapped by ``present``
    (one referral as shown -> FHIR resources)."""
    return _search(
        view,
        request,
        selectors.referrals_visible_to(request.member),
        "created_at",
        selectors.referrals_shown,
        lambda page, decision: [
            item for shown in presenters.referrals_shown(page, decision) for item in present(shown)
        ],
    )


@route("ServiceRequest", name="servicerequest-search")
class ServiceRequestSearch(FhirView):
    permission_classes = [REFERRAL_ROLES]

    def get(self, request):
        return _referral_page(self, request, lambda shown: [mapping.service_request(shown)])


@route("ServiceRequest/<uuid:referral_id>", name="servicerequest-read")
class ServiceRequestRead(FhirView):
    """One referral: the REST detail's own service (``referral_open``): audited as a
    ``view``, and a recipient's first read marks its status ``received``."""

    permission_classes = [REFERRAL_ROLES]

    def get(self, request, referral_id):
        search.check_format(request.query_params)
        referral, decision = services.referral_open(actor=request.member, referral_id=referral_id)
        return Response(mapping.service_request(presenters.referral_shown(referral, decision)))


@route("Task", name="task-search")
class TaskSearch(FhirView):
    """Every Task shown for a page of referrals (``_count`` counts referrals)."""

    permission_classes = [REFERRAL_ROLES]

    def get(self, request):
        return _referral_page(self, request, mapping.tasks)


@route("Task/<uuid:referral_id>-<int:agency_id>", name="task-read")
class TaskRead(FhirView):
    """One recipient status the member is shown (``<referral>-<agency>``), read as the
    referral is (``access_referral``: one ``view``); a status the decision does not
    show is not found, like a missing one."""

    permission_classes = [REFERRAL_ROLES]

    def get(self, request, referral_id, agency_id):
        search.check_format(request.query_params)
        with transaction.atomic():
            referral, decision = selectors.access_referral(request.member, referral_id)
            shown = presenters.referral_shown(referral, decision)
            recipient = next((r for r in shown["recipients"] if r["agency"] == agency_id), None)
            if recipient is None:
                raise NotFound
        return Response(mapping.task(shown, recipient))


@route("Patient", name="patient-search")
class PatientSearch(FhirView):
    """Liaisons: their agency's survivors (as ``/api/v1/survivors/`` lists them,
    ``_lastUpdated`` on the profile's change). Caseworkers: the survivors of the
    referrals they may see, released fields only, read as the referral list."""

    permission_classes = [REFERRAL_ROLES]

    def get(self, request):
        if request.member.role == Role.CASEWORKER:
            seen: set[str] = set()

            def present(shown):
                survivor = shown["survivor"]
                if survivor["id"] in seen:
                    return []
                seen.add(survivor["id"])
                return [mapping.patient(survivor, shown["created_at"])]

            return _referral_page(self, request, present)
        return _search(
            self,
            request,
            selectors.survivors_of(request.member),
            "updated_at",
            selectors.survivors_shown,
            lambda _page, shown: [
                mapping.patient(presenters.survivor_shown(s), s.updated_at) for s in shown
            ],
        )


@route("Patient/<uuid:survivor_id>", name="patient-read")
class PatientRead(FhirView):
    """Liaisons: their agency's survivor (``access_survivor``, as the REST profile).
    Caseworkers: a survivor of a referral they may see, as that referral releases
    them (``access_referral``: the referral's ``view``)."""

    permission_classes = [REFERRAL_ROLES]

    def get(self, request, survivor_id):
        search.check_format(request.query_params)
        member = request.member
        with transaction.atomic():
            if member.role != Role.CASEWORKER:
                survivor = selectors.access_survivor(member, survivor_id)
                return Response(
                    mapping.patient(presenters.survivor_shown(survivor), survivor.updated_at)
                )
            found = (
                selectors.referrals_visible_to(member)
                .filter(survivor_id=survivor_id)
                .values_list("pk", flat=True)
                .first()
            )
            if found is None:
                raise NotFound
            referral, decision = selectors.access_referral(member, found)
        shown = presenters.referral_shown(referral, decision)
        return Response(mapping.patient(shown["survivor"], shown["created_at"]))
