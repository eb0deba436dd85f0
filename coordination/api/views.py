"""Thin views: parse, call one service or selector, present. Every read is audited by
its selector, every write by its service; what a member is shown comes from the
request's one access decision (``coordination.presenters``)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.api.operations import operation, shown_page, valid_body
from agencies.errors import InvalidInput
from agencies.models import Role
from agencies.permissions import role_required
from agencies.routes import route
from consent import services as consent_services
from consent.models import Consent, Survivor
from coordination import access, presenters, selectors, services
from coordination.api import schema
from coordination.api import serializers as s
from coordination.api.idempotency import concerning, idempotent
from coordination.filters import ConsentFilter, ReferralFilter
from coordination.models import Referral

ERASED = "The survivor's data was erased."


def _if_match(request) -> str | None:
    raw = request.META.get("HTTP_IF_MATCH")
    if raw is None:
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag or len(tag) > 64:
        raise InvalidInput(fields={"If-Match": ["Use the ETag from a GET."]})
    return tag


def _tag(value) -> dict:
    return {"ETag": f'"{value}"'}


def _creating(request, created, *, refusals: dict[int, str] | None = None):
    """A creating POST: idempotent under an ``Idempotency-Key``, answering 201."""

    def decorate(post):
        parameters = [schema.IDEMPOTENCY_KEY]
        return operation(request, created, status=201, refusals=refusals, parameters=parameters)(
            idempotent(post)
        )

    return decorate


def _referral_response(referral, decision: access.Decision, **kwargs) -> Response:
    return Response(
        presenters.referral_shown(referral, decision),
        headers=_tag(decision.etag(referral)),
        **kwargs,
    )


@route("survivors/", name="survivor-list")
class SurvivorListView(GenericAPIView):
    """The caller's agency's survivor profiles (liaisons); POST creates one."""

    permission_classes = [role_required(Role.LIAISON)]
    queryset = Survivor.objects.none()  # schema only
    filter_backends = []

    @extend_schema(operation_id="survivors_list", responses=schema.SurvivorProfile(many=True))
    def get(self, request):
        queryset = selectors.survivors_of(request.member)
        return shown_page(self, queryset, selectors.survivors_shown, presenters.survivor_profile)

    @_creating(s.SurvivorInputSerializer, schema.SurvivorProfile)
    def post(self, request):
        data = valid_body(s.SurvivorInputSerializer, request)
        survivor = consent_services.survivor_create(actor=request.member, data=data)
        response = Response(
            presenters.survivor_profile(survivor),
            status=status.HTTP_201_CREATED,
            headers=_tag(survivor.version),
        )
        return concerning(response, survivor.pk)


@route("survivors/<uuid:survivor_id>/", name="survivor-detail")
class SurvivorDetailView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @operation(None, schema.SurvivorProfile, refusals={410: ERASED})
    def get(self, request, survivor_id):
        with transaction.atomic():
            survivor = selectors.access_survivor(request.member, survivor_id)
        return Response(presenters.survivor_profile(survivor), headers=_tag(survivor.version))

    @operation(
        s.SurvivorInputSerializer,
        schema.SurvivorProfile,
        refusals={410: ERASED},
        parameters=[schema.IF_MATCH],
    )
    def patch(self, request, survivor_id):
        survivor = consent_services.survivor_update(
            actor=request.member,
            survivor_id=survivor_id,
            data=valid_body(s.SurvivorInputSerializer, request, partial=True),
            if_match=_if_match(request),
        )
        return Response(presenters.survivor_profile(survivor), headers=_tag(survivor.version))


@route("survivors/<uuid:survivor_id>/erasure/", name="survivor-erasure")
class SurvivorErasureView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @operation(
        s.ErasureInputSerializer,
        schema.SurvivorErased,
        description="Erase the survivor's PII for good (crypto-shredding): consents end, "
        "open referrals are cancelled, the profile answers 410 from then on. Repeating "
        "it changes nothing more.",
    )
    def post(self, request, survivor_id):
        reason = valid_body(s.ErasureInputSerializer, request)["reason"]
        survivor = services.survivor_erase(
            actor=request.member, survivor_id=survivor_id, reason=reason
        )
        return Response(presenters.survivor_erased(survivor))


@route("consents/", name="consent-list")
class ConsentListView(GenericAPIView):
    """Consents for the caller's agency's survivors (liaisons); POST records one."""

    permission_classes = [role_required(Role.LIAISON)]
    queryset = Consent.objects.none()  # schema only
    filterset_class = ConsentFilter

    @extend_schema(operation_id="consents_list", responses=schema.ConsentShown(many=True))
    def get(self, request):
        queryset = self.filter_queryset(selectors.consents_of(request.member))
        return shown_page(self, queryset, selectors.consents_shown, presenters.consent_shown)

    @_creating(
        s.ConsentInputSerializer,
        schema.ConsentShown,
        refusals={404: "The survivor is not one of the caller's agency's."},
    )
    def post(self, request):
        fields = valid_body(s.ConsentInputSerializer, request)
        consent = services.consent_record(
            actor=request.member, survivor_id=fields.pop("survivor"), **fields
        )
        response = Response(presenters.consent_shown(consent), status=status.HTTP_201_CREATED)
        return concerning(response, consent.survivor_id)


@route("consents/<uuid:consent_id>/revoke/", name="consent-revoke")
class ConsentRevokeView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @operation(s.RevokeInputSerializer, schema.ConsentShown, refusals={409: "Already revoked."})
    def post(self, request, consent_id):
        revocation = valid_body(s.RevokeInputSerializer, request)
        services.consent_revoke(actor=request.member, consent_id=consent_id, **revocation)
        consent = selectors.own_consent(request.member, consent_id)
        return Response(presenters.consent_shown(consent))


@route("referrals/", name="referral-list")
class ReferralListView(GenericAPIView):
    """Outgoing and incoming referrals visible to the caller, redacted by consent."""

    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]
    queryset = Referral.objects.none()  # schema only
    filterset_class = ReferralFilter

    @extend_schema(operation_id="referrals_list", responses=schema.ReferralShown(many=True))
    def get(self, request):
        referrals = self.filter_queryset(selectors.referrals_visible_to(request.member))
        with transaction.atomic():
            page = self.paginate_queryset(referrals)
            decision = selectors.referrals_shown(request.member, page)
            return self.get_paginated_response(presenters.referrals_shown(page, decision))

    @_creating(s.ReferralInputSerializer, schema.ReferralShown)
    def post(self, request):
        fields = valid_body(s.ReferralInputSerializer, request)
        referral = services.referral_create(
            actor=request.member, survivor_id=fields.pop("survivor"), **fields
        )
        referral = selectors.referrals_visible_to(request.member).get(pk=referral.pk)
        member = request.member
        decision = access.decide(
            member.agency_id, [referral], role=member.role, member_id=member.pk
        )
        response = _referral_response(referral, decision, status=status.HTTP_201_CREATED)
        return concerning(response, referral.survivor_id)


@route("referrals/<uuid:referral_id>/", name="referral-detail")
class ReferralDetailView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(responses=schema.ReferralShown)
    def get(self, request, referral_id):
        referral, decision = services.referral_open(actor=request.member, referral_id=referral_id)
        return _referral_response(referral, decision)


@route("referrals/<uuid:referral_id>/transitions/", name="referral-transitions")
class TransitionView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @operation(
        s.TransitionInputSerializer,
        schema.ReferralShown,
        refusals={409: "The action is not allowed from the current status."},
        parameters=[schema.IF_MATCH],
    )
    def post(self, request, referral_id):
        referral, decision = services.referral_transition(
            actor=request.member,
            referral_id=referral_id,
            if_match=_if_match(request),
            **valid_body(s.TransitionInputSerializer, request),
        )
        return _referral_response(referral, decision)


@route("referrals/<uuid:referral_id>/notes/", name="referral-notes")
class NoteListView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(responses=schema.NotePage)
    def get(self, request, referral_id):
        with transaction.atomic():
            _, _, notes = selectors.access_notes(request.member, referral_id)
        return Response(
            {"next": None, "previous": None, "results": [presenters.note_shown(n) for n in notes]}
        )

    @_creating(s.NoteInputSerializer, schema.NoteShown)
    def post(self, request, referral_id):
        text = valid_body(s.NoteInputSerializer, request)["text"]
        note = services.note_add(actor=request.member, referral_id=referral_id, text=text)
        response = Response(presenters.note_shown(note), status=status.HTTP_201_CREATED)
        return concerning(response, note.referral.survivor_id)
