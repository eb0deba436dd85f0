"""Thin views: parse, call one service or selector, render. Every call is audited
(by the service or by the access selector)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Exists, OuterRef, TextField
from django.db.models.functions import Cast
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.api.pagination import StableCursorPagination
from agencies.errors import InvalidInput
from agencies.models import Need, Role
from agencies.permissions import role_required
from audit.models import Action
from consent import policy
from consent.models import Consent
from coordination import etags, selectors, services, states
from coordination.api import serializers as s
from coordination.api.idempotency import idempotent
from coordination.models import RecipientStatus, Referral, Urgency


def _if_match(request) -> str | None:
    raw = request.META.get("HTTP_IF_MATCH")
    if raw is None:
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag or len(tag) > 64:
        raise InvalidInput(fields={"If-Match": ["Use the ETag from a GET."]})
    return tag


def _etag(referral, member) -> str:
    return '"' + etags.referral_etag(referral, member.agency_id) + '"'


class ReferralPagination(StableCursorPagination):
    ordering = ("-created_at", "-id")


class SurvivorListView(GenericAPIView):
    """The caller's agency's survivor profiles (liaisons)."""

    permission_classes = [role_required(Role.LIAISON)]
    pagination_class = ReferralPagination
    queryset = Referral.objects.none()  # schema only

    @extend_schema(operation_id="survivors_list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        with transaction.atomic():
            page = self.paginate_queryset(selectors.survivors_of(request.member))
            selectors.audit_list(
                request.member,
                "survivor",
                len(page),
                {"refs": [survivor.ref for survivor in page]},
            )
            return self.get_paginated_response(s.SurvivorOutputSerializer(page, many=True).data)

    @extend_schema(request=s.SurvivorInputSerializer, responses={201: OpenApiTypes.OBJECT})
    @idempotent
    def post(self, request):
        body = s.SurvivorInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        survivor = services.survivor_create(actor=request.member, data=body.validated_data)
        return Response(
            s.SurvivorOutputSerializer(survivor).data,
            status=status.HTTP_201_CREATED,
            headers={"ETag": f'"{survivor.version}"'},
        )


class SurvivorDetailView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, survivor_id):
        with transaction.atomic():
            survivor = selectors.access_survivor(request.member, survivor_id)
            data = s.SurvivorOutputSerializer(survivor).data
        return Response(data, headers={"ETag": f'"{survivor.version}"'})

    @extend_schema(request=s.SurvivorInputSerializer, responses=OpenApiTypes.OBJECT)
    def patch(self, request, survivor_id):
        body = s.SurvivorInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        survivor = services.survivor_update(
            actor=request.member,
            survivor_id=survivor_id,
            data=body.validated_data,
            if_match=_if_match(request),
        )
        return Response(
            s.SurvivorOutputSerializer(survivor).data, headers={"ETag": f'"{survivor.version}"'}
        )


class ConsentListView(GenericAPIView):
    """Consents for the caller's agency's survivors (liaisons); POST records one."""

    permission_classes = [role_required(Role.LIAISON)]
    pagination_class = type(
        "ConsentPagination", (StableCursorPagination,), {"ordering": ("-recorded_at", "-id")}
    )
    queryset = Consent.objects.none()  # schema only

    @extend_schema(operation_id="consents_list", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        consents = selectors.consents_of(request.member)
        survivor = request.query_params.get("survivor")
        if survivor:
            try:
                consents = consents.filter(survivor_id=uuid.UUID(survivor))
            except ValueError:
                raise InvalidInput(fields={"survivor": ["Must be a survivor id."]}) from None
        with transaction.atomic():
            page = self.paginate_queryset(consents)
            selectors.audit_list(
                request.member, "consent", len(page), {"consents": [str(c.id) for c in page]}
            )
            return self.get_paginated_response(s.ConsentOutputSerializer(page, many=True).data)

    @extend_schema(request=s.ConsentInputSerializer, responses={201: OpenApiTypes.OBJECT})
    @idempotent
    def post(self, request):
        body = s.ConsentInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        consent = services.consent_record(
            actor=request.member, survivor_id=fields.pop("survivor"), **fields
        )
        return Response(s.ConsentOutputSerializer(consent).data, status=status.HTTP_201_CREATED)


class ConsentRevokeView(APIView):
    permission_classes = [role_required(Role.LIAISON)]

    @extend_schema(request=s.RevokeInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, consent_id):
        body = s.RevokeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        consent = services.consent_revoke(
            actor=request.member, consent_id=consent_id, **body.validated_data
        )
        consent = Consent.objects.select_related("survivor", "revocation").get(pk=consent.pk)
        return Response(s.ConsentOutputSerializer(consent).data)


class ReferralListView(GenericAPIView):
    """Outgoing and incoming referrals visible to the caller, redacted by consent."""

    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]
    pagination_class = ReferralPagination
    queryset = Referral.objects.none()  # schema only

    def _filtered(self, request):
        member, params = request.member, request.query_params
        referrals = selectors.referrals_visible_to(member)
        errors = {}
        direction = params.get("direction")
        if direction == "outgoing":
            referrals = referrals.filter(referring_agency_id=member.agency_id)
        elif direction == "incoming":
            referrals = referrals.exclude(referring_agency_id=member.agency_id)
        elif direction:
            errors["direction"] = ["Must be outgoing or incoming."]
        wanted = params.get("status")
        if wanted and wanted not in states.STATES:
            errors["status"] = ["Unknown status."]
        elif wanted:
            own = RecipientStatus.objects.filter(
                referral_id=OuterRef("pk"), agency_id=member.agency_id, status=wanted
            )
            seen_as_is = RecipientStatus.objects.filter(referral_id=OuterRef("pk"), status=wanted)
            if wanted in policy.REFERRER_FILTERABLE_STATUSES:
                mine = seen_as_is.filter(referral__referring_agency_id=member.agency_id)
                referrals = referrals.filter(Exists(own) | Exists(mine))
            elif direction == "outgoing":
                errors["status"] = [
                    "Outgoing referrals filter only by awaiting_consent, cancelled or "
                    "consent_revoked: other statuses reach you only under consent."
                ]
            else:  # the caller's own recipient status
                referrals = referrals.filter(Exists(own))
        need = params.get("need")
        if need and need not in Need.values:
            errors["need"] = ["Unknown need."]
        elif need:
            referrals = referrals.annotate(
                needs_text=Cast("needs", output_field=TextField())
            ).filter(needs_text__contains=f'"{need}"')
        urgency = params.get("urgency")
        if urgency and urgency not in Urgency.values:
            errors["urgency"] = ["Unknown urgency."]
        elif urgency:
            referrals = referrals.filter(urgency=urgency)
        if errors:
            raise InvalidInput(fields=errors)
        return referrals

    @extend_schema(
        operation_id="referrals_list",
        parameters=[
            OpenApiParameter(name, str) for name in ("direction", "status", "need", "urgency")
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        referrals = self._filtered(request)
        with transaction.atomic():
            page = self.paginate_queryset(referrals)
            data, releases = s.referrals_data(request.member, page)
            selectors.audit_referral_list(request.member, page, releases)
            return self.get_paginated_response(data)

    @extend_schema(request=s.ReferralInputSerializer, responses={201: OpenApiTypes.OBJECT})
    @idempotent
    def post(self, request):
        body = s.ReferralInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        referral = services.referral_create(
            actor=request.member, survivor_id=fields.pop("survivor"), **fields
        )
        referral = selectors.referrals_visible_to(request.member).get(pk=referral.pk)
        data, _ = s.referrals_data(request.member, [referral])
        return Response(
            data[0],
            status=status.HTTP_201_CREATED,
            headers={"ETag": _etag(referral, request.member)},
        )


class ReferralDetailView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, referral_id):
        with transaction.atomic():
            referral, _ = selectors.access_referral(request.member, referral_id)
            data, _ = s.referrals_data(request.member, [referral])
        return Response(data[0], headers={"ETag": _etag(referral, request.member)})


class TransitionView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(request=s.TransitionInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request, referral_id):
        body = s.TransitionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.transition(
            actor=request.member,
            referral_id=referral_id,
            if_match=_if_match(request),
            **body.validated_data,
        )
        # Still visible: a user's transition never withdraws the caller's own access.
        referral = selectors.referrals_visible_to(request.member).get(pk=referral_id)
        data, _ = s.referrals_data(request.member, [referral])
        return Response(data[0], headers={"ETag": _etag(referral, request.member)})


class NoteListView(APIView):
    permission_classes = [role_required(Role.LIAISON, Role.CASEWORKER)]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, referral_id):
        with transaction.atomic():
            referral, release = selectors.access_referral(
                request.member, referral_id, audit_action=Action.LIST
            )
            notes = selectors.notes_visible(request.member, referral, release)
            return Response(
                {"next": None, "previous": None, "results": [s.note_data(n) for n in notes]}
            )

    @extend_schema(request=s.NoteInputSerializer, responses={201: OpenApiTypes.OBJECT})
    @idempotent
    def post(self, request, referral_id):
        body = s.NoteInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.note_add(
            actor=request.member, referral_id=referral_id, text=body.validated_data["text"]
        )
        return Response(s.note_data(note), status=status.HTTP_201_CREATED)
