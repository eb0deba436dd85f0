from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies import live_auth, mfa, selectors, services
from agencies.api.operations import created, operation, shown_page, valid_body
from agencies.api.serializers import (
    MemberCreateSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MeSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    WsTicketResponseSerializer,
)
from agencies.api.throttles import TokenThrottle, WsTicketThrottle
from agencies.errors import Unauthenticated
from agencies.models import LIVE_ROLES, Membership, Role
from agencies.permissions import role_required
from agencies.routes import route


@route("auth/token/", name="auth-token")
class TokenView(APIView):
    """Exchange username, password and (when the member has a second factor, or MFA is
    required) ``otp`` for an expiring Bearer token (throttled).

    401 codes: ``invalid_credentials``; ``otp_required`` (right password, no code);
    ``otp_invalid`` (a wrong or already used code: it counts against the sign-in
    limiter as a wrong password does); ``mfa_enrolment_required`` (MFA is required and
    the member has no factor yet: they enrol on the web sign-in first)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @operation(TokenRequestSerializer, TokenResponseSerializer)
    def post(self, request):
        credentials = valid_body(TokenRequestSerializer, request)
        code = credentials.pop("otp", "")
        member = services.member_authenticate(request=request, **credentials)
        factor = None
        if mfa.factor_needed(member.user):
            if not code:
                mfa.code_required(request=request, member=member)
            factor = mfa.code_check(request=request, member=member, code=code)
        instance, token = services.token_issue(member=member, factor=factor)
        return Response({"token": token, "expiry": instance.expiry})


@route("auth/logout/", name="auth-logout")
class LogoutView(APIView):
    """End the calling token (Bearer) or the session (browser)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        token = request.auth if isinstance(request.auth, AuthToken) else None
        services.logout_record(
            member=request.member,
            token=token,
            session_key=None if token is not None else request.session.session_key,
        )
        if token is None:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@route("auth/ws-ticket/", name="auth-ws-ticket")
class WsTicketView(APIView):
    """A single-use ticket for opening ``/ws/v1/events/``, valid 60 s (throttled).

    Send it in the socket's first message, ``{"type": "hello", "after": SEQ,
    "ticket": ...}`` — never in a URL.
    """

    permission_classes = [role_required(*LIVE_ROLES)]
    throttle_classes = [WsTicketThrottle]

    @extend_schema(request=None, responses={201: WsTicketResponseSerializer})
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            credential = live_auth.token_credential(request.auth)
        elif request.session.session_key:
            credential = live_auth.session_credential(request.session.session_key)
        else:  # a ticket must hang off a credential whose end can end the socket
            raise Unauthenticated
        ticket = live_auth.ws_ticket_issue(member=request.member, credential=credential)
        return Response(
            {"ticket": ticket, "expires_in": settings.WS_TICKET_TTL_SECONDS},
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


@route("me/", name="me")
class MeView(APIView):
    """Who the caller is: their user, agency and role (audited ``view``)."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        with transaction.atomic():
            member = selectors.membership_shown(request.member)
        return Response(MeSerializer(member).data)


@route("members/", name="member-list")
class MemberListView(GenericAPIView):
    """Agency admins: the members of their own agency, newest first (each page one
    audited ``list``); POST adds one."""

    serializer_class = MemberSerializer
    permission_classes = [role_required(Role.AGENCY_ADMIN)]
    queryset = Membership.objects.none()  # schema only

    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request):
        members = selectors.members_of(request.member.agency)
        return shown_page(self, members, selectors.members_shown)

    @operation(MemberCreateSerializer, MemberSerializer, status=201)
    def post(self, request):
        return created(self, request, MemberCreateSerializer, services.member_add)


@route("members/<int:member_id>/", name="member-detail")
class MemberDetailView(APIView):
    permission_classes = [role_required(Role.AGENCY_ADMIN)]

    @operation(
        MemberRoleSerializer,
        MemberSerializer,
        refusals={409: "An admin cannot change their own role."},
    )
    def patch(self, request, member_id: int):
        role = valid_body(MemberRoleSerializer, request)["role"]
        member = services.member_change_role(actor=request.member, member_id=member_id, role=role)
        return _member_response(member)


@route("members/<int:member_id>/deactivate/", name="member-deactivate")
class MemberDeactivateView(APIView):
    permission_classes = [role_required(Role.AGENCY_ADMIN)]

    @operation(None, MemberSerializer, refusals={409: "An admin cannot deactivate themself."})
    def post(self, request, member_id: int):
        member = services.member_deactivate(actor=request.member, member_id=member_id)
        return _member_response(member)


@route("members/<int:member_id>/unlock/", name="member-unlock")
class MemberUnlockView(APIView):
    """Lift a member's sign-in lock (audited ``member_unlock``)."""

    permission_classes = [role_required(Role.AGENCY_ADMIN)]

    @extend_schema(request=None, responses=MemberSerializer)
    def post(self, request, member_id: int):
        member = services.member_unlock(actor=request.member, member_id=member_id)
        return _member_response(member)


@route("members/<int:member_id>/mfa-reset/", name="member-mfa-reset")
class MemberMfaResetView(APIView):
    """Remove a member's second factor: they enrol again at their next sign-in, and
    their tokens, sessions and sockets end (audited ``mfa_reset``). Agency admins for
    their own members, network admins for agencies' admins."""

    permission_classes = [role_required(Role.AGENCY_ADMIN, Role.NETWORK_ADMIN)]

    @operation(None, MemberSerializer, refusals={409: "Nobody resets their own second factor."})
    def post(self, request, member_id: int):
        member = services.mfa_reset(actor=request.member, member_id=member_id)
        return _member_response(member)


def _member_response(member: Membership) -> Response:
    [member] = selectors.with_sign_in_state([member])
    return Response(MemberSerializer(member).data)
