"""Emergency access (break-glass) over REST: a caseworker opens it on a referral;
compliance officers list and review each use. Thin: parse, call one service or
selector, present."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.api.operations import operation, valid_body
from agencies.models import Role
from agencies.permissions import role_required
from agencies.routes import route
from coordination import presenters, selectors, services
from coordination.api import schema
from coordination.api import serializers as s
from coordination.filters import EmergencyAccessFilter
from coordination.models import EmergencyAccess


# A POST that opens or reviews an emergency access: its body (``body``, a serializer)
# and the path's ids go to ``change`` (a service) with the caller as ``actor``; the
# answer, with ``success_status``, is the access. (A comment, not a docstring: a view's
# docstring is its operations' description in the schema.)
class _EmergencyAccessChange(APIView):
    body = None  # the input serializer
    change = None  # the service, a staticmethod
    success_status = status.HTTP_200_OK

    def post(self, request, **ids):
        changed = self.change(actor=request.member, **ids, **valid_body(self.body, request))
        return Response(presenters.emergency_access_shown(changed), status=self.success_status)


@route("referrals/<uuid:referral_id>/emergency-access/", name="referral-emergency-access")
@operation(
    s.EmergencyAccessInputSerializer,
    schema.EmergencyAccessShown,
    status=201,
    refusals={
        403: "emergency_access_disabled (switched off), emergency_access_refused (the "
        "survivor refused it) or permission_denied (not a caseworker).",
        404: "Not a referral the caller's agency is a recipient of.",
    },
)
class EmergencyAccessOpenView(_EmergencyAccessChange):
    permission_classes = [role_required(Role.CASEWORKER)]
    body = s.EmergencyAccessInputSerializer
    change = staticmethod(services.emergency_access_open)
    success_status = status.HTTP_201_CREATED


@route("emergency-access/", name="emergency-list")
class EmergencyAccessListView(GenericAPIView):
    """Every emergency access of the network, newest first (compliance officers)."""

    permission_classes = [role_required(Role.COMPLIANCE_OFFICER)]
    queryset = EmergencyAccess.objects.none()  # schema only
    filterset_class = EmergencyAccessFilter

    @extend_schema(
        operation_id="emergency_access_list", responses=schema.EmergencyAccessShown(many=True)
    )
    def get(self, request):
        found = self.filter_queryset(selectors.emergency_accesses(request.member))
        filters = {k: v for k, v in request.query_params.items() if k == "review_status"}
        with transaction.atomic():
            page = selectors.emergency_accesses_shown(
                request.member, self.paginate_queryset(found), filters
            )
            return self.get_paginated_response(
                [presenters.emergency_access_shown(item) for item in page]
            )


@route("emergency-access/<uuid:access_id>/review/", name="emergency-review")
@operation(
    s.EmergencyReviewInputSerializer,
    schema.EmergencyAccessShown,
    refusals={409: "already_reviewed: it was reviewed before."},
)
class EmergencyAccessReviewView(_EmergencyAccessChange):
    permission_classes = [role_required(Role.COMPLIANCE_OFFICER)]
    body = s.EmergencyReviewInputSerializer
    change = staticmethod(services.emergency_access_review)
