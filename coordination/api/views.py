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

from agencies.errors import InvalidInput
from agencies.models import Role
from agencies.permissions import role_required
from consent import services as consent_services
from consent.models import Consent, Survivor
from coordination import access, presenters, selectors, services
from coordination.api import schema
from coordination.api import serializers as s
from coordination.api.idempotency import concerning, idempotent
from coordination.filters import ConsentFilter, ReferralFilter
from coordination.models import Referral

ERASED = schema.refused("The survivor's data was erased.")


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


def _page(view, queryset, shown, present) -> Response:
    """One page of a scoped queryset, shown (``shown``, a selector, audits it) and
    presented, in one transaction: the list entry commits with the read."""
    with transaction.atomic():
        page = shown(view.request.member, view.paginate_queryset(queryset))
        return view.get_paginated_response([present(item) for item in page])


def _referral_response(referral, decision: access.Decision, **kwargs) -> Response:
    return Response(
        presenters.referral_shown(referral, decision),
        headers=_tag(decision.etag(referral)),
        **kwargs,
    )


class SurvivorListView(GenericAPIView):
    """The caller's agency's survivor profiles (liaisons); POST creates one."""

    permission_classes = [role_required(Role.LIAISON)]
    queryset = Survivor.objects.none()  # schema only
    filter_backends = []

    @extend_schema(operation_id="survivors_list", responses=schema.SurvivorProfile(many=True))
    def get(self, request):
        queryset = selectors.survivors_of(request.member)
        return _page(self, queryset, selectors.survivors_shown, presenters.survivor_profile)

    @extend_schema(
        request=s.SurvivorInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: schema.SurvivorProfile},
    )
    @idempotent
    def post(self, request):
        body = s.SurvivorInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        survivor = consent_services.survivor_create(actor=request.member, data=body.validated_data)
        response = Response(
            presenters.survivor_profile(survivor),
            status=status.HTTP_201_CREATED,
            headers=_tag(survivor.version),
        )
        return concerning(response, survivor.pk)


class SurvivorDetailView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @extend_schema(responses={200: schema.SurvivorProfile, 410: ERASED})
    def get(self, request, survivor_id):
        with transaction.atomic():
            survivor = selectors.access_survivor(request.member, survivor_id)
        return Response(presenters.survivor_profile(survivor), headers=_tag(survivor.version))

    @extend_schema(
        request=s.SurvivorInputSerializer,
        parameters=[schema.IF_MATCH],
        responses={200: schema.SurvivorProfile, 410: ERASED},
    )
    def patch(self, request, survivor_id):
        body = s.SurvivorInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        survivor = consent_services.survivor_update(
            actor=request.member,
            survivor_id=survivor_id,
            data=body.validated_data,
            if_match=_if_match(request),
        )
        return Response(presenters.survivor_profile(survivor), headers=_tag(survivor.version))


class SurvivorErasureView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @extend_schema(
        request=s.ErasureInputSerializer,
        responses={200: schema.SurvivorErased},
        description="Erase the survivor's PII for good (crypto-shredding): consents end, "
        "open referrals are cancelled, the profile answers 410 from then on. Repeating "
        "it changes nothing more.",
    )
    def post(self, request, survivor_id):
        body = s.ErasureInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        survivor = services.survivor_erase(
            actor=request.member, survivor_id=survivor_id, reason=body.validated_data["reason"]
        )
        return Response(presenters.survivor_erased(survivor))


class ConsentListView(GenericAPIView):
    """Consents for the caller's agency's survivors (liaisons); POST records one."""

    permission_classes = [role_required(Role.LIAISON)]
    queryset = Consent.objects.none()  # schema only
    filterset_class = ConsentFilter

    @extend_schema(operation_id="consents_list", responses=schema.ConsentShown(many=True))
    def get(self, request):
        queryset = self.filter_queryset(selectors.consents_of(request.member))
        return _page(self, queryset, selectors.consents_shown, presenters.consent_shown)

    @extend_schema(
        request=s.ConsentInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={
            201: schema.ConsentShown,
            404: schema.refused("The survivor is not one of the caller's agency's."),
        },
    )
    @idempotent
    def post(self, request):
        body = s.ConsentInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        consent = services.consent_record(
            actor=request.member, survivor_id=fields.pop("survivor"), **fields
        )
        response = Response(presenters.consent_shown(consent), status=status.HTTP_201_CREATED)
        return concerning(response, consent.survivor_id)


class ConsentRevokeView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @extend_schema(
        request=s.RevokeInputSerializer,
        responses={200: schema.ConsentShown, 409: schema.refused("Already revoked.")},
    )
    def post(self, request, consent_id):
        body = s.RevokeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.consent_revoke(actor=request.member, consent_id=consent_id, **body.validated_data)
        consent = selectors.own_consent(request.member, consent_id)
        return Response(presenters.consent_shown(consent))


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

    @extend_schema(
        request=s.ReferralInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: schema.ReferralShown},
    )
    @idempotent
    def post(self, request):
        body = s.ReferralInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        referral = services.referral_create(
            actor=request.member, survivor_id=fields.pop("survivor"), **fields
        )
        referral = selectors.referrals_visible_to(request.member).get(pk=referral.pk)
        decision = access.decide(request.member.agency_id, [referral], role=request.member.role)
        response = _referral_response(referral, decision, status=status.HTTP_201_CREATED)
        return concerning(response, referral.survivor_id)


class ReferralDetailView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(responses=schema.ReferralShown)
    def get(self, request, referral_id):
        referral, decision = services.referral_open(actor=request.member, referral_id=referral_id)
        return _referral_response(referral, decision)


class TransitionView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(
        request=s.TransitionInputSerializer,
        parameters=[schema.IF_MATCH],
        responses={
            200: schema.ReferralShown,
            409: schema.refused("The action is not allowed from the current status."),
        },
    )
    def post(self, request, referral_id):
        body = s.TransitionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        referral, decision = services.referral_transition(
            actor=request.member,
            referral_id=referral_id,
            if_match=_if_match(request),
            **body.validated_data,
        )
        return _referral_response(referral, decision)


class NoteListView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(responses=schema.NotePage)
    def get(self, request, referral_id):
        with transaction.atomic():
            _, _, notes = selectors.access_notes(request.member, referral_id)
        return Response(
            {"next": None, "previous": None, "results": [presenters.note_shown(n) for n in notes]}
        )

    @extend_schema(
        request=s.NoteInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: schema.NoteShown},
    )
    @idempotent
    def post(self, request, referral_id):
        body = s.NoteInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.note_add(
            actor=request.member, referral_id=referral_id, text=body.validated_data["text"]
        )
        response = Response(presenters.note_shown(note), status=status.HTTP_201_CREATED)
        return concerning(response, note.referral.survivor_id)
