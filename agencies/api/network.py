"""Network administration over the API: the agency directory (filtered) and its
creation, editing, suspension and reinstatement; invitations and password resets.
Views parse input, call one service or selector, and render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies import invitations, network, selectors
from agencies.api.operations import created, operation, shown_page, valid_body
from agencies.api.serializers import AgencySerializer
from agencies.api.throttles import ClientAddressThrottle
from agencies.filters import AgencyFilter
from agencies.inputs import MAX_ID
from agencies.models import TIME_ZONES, Agency, AgencyKind, Need, Role
from agencies.permissions import role_required
from agencies.routes import route


def _unique(values: list) -> list:
    return list(dict.fromkeys(values))


class AgencyProfileSerializer(serializers.Serializer):
    """What a PATCH may change (all optional; which of them the caller may change is the
    service's to say)."""

    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=AgencyKind.choices)
    regions = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=50, required=False
    )
    services = serializers.ListField(
        child=serializers.ChoiceField(choices=Need.choices), max_length=len(Need), required=False
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=35), max_length=50, required=False
    )
    accepting_referrals = serializers.BooleanField(required=False)
    capacity_note = serializers.CharField(max_length=500, allow_blank=True, required=False)
    hours_start = serializers.TimeField(
        allow_null=True, required=False, help_text="working hours start (null: no hours)"
    )
    hours_end = serializers.TimeField(
        allow_null=True, required=False, help_text="working hours end; before the start: overnight"
    )
    timezone = serializers.ChoiceField(
        choices=TIME_ZONES, required=False, help_text="the hours' IANA time zone"
    )

    def validate(self, attrs):
        for name in ("regions", "services", "languages"):
            if name in attrs:
                attrs[name] = _unique(attrs[name])
        return attrs


class AgencyCreateSerializer(AgencyProfileSerializer):
    slug = serializers.SlugField(max_length=64)


class InvitationCreateSerializer(serializers.Serializer):
    agency = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    role = serializers.ChoiceField(choices=Role.choices)
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = serializers.EmailField(max_length=254)


class InvitationCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=100)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class InvitationAcceptedSerializer(serializers.Serializer):
    username = serializers.CharField()


class PasswordResetSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class InvitationThrottle(ClientAddressThrottle):
    """Link redemptions and reset requests per client address: guessing a 256-bit token
    is hopeless, but flooding inboxes is not."""

    scope = "invitation"
    rate = "10/min"


@route("agencies/", name="agency-list")
class AgencyListView(GenericAPIView):
    """GET: the directory (active agencies by slug; network admins see suspended ones
    too), filtered by ``need``, ``region``, ``language``, ``kind``,
    ``accepting_referrals``; each page one audited ``list``. POST (network admins): add
    an agency."""

    serializer_class = AgencySerializer
    queryset = Agency.objects.none()  # schema only
    filterset_class = AgencyFilter

    @extend_schema(responses=AgencySerializer(many=True))
    def get(self, request):
        member = request.member
        if member.role == Role.NETWORK_ADMIN:
            agencies = network.agencies_administered(member)
        else:
            agencies = selectors.agency_directory()
        return shown_page(self, self.filter_queryset(agencies), selectors.agencies_shown)

    @operation(AgencyCreateSerializer, AgencySerializer, status=201)
    def post(self, request):
        return created(self, request, AgencyCreateSerializer, network.agency_create)


@route("agencies/<int:agency_id>/", name="agency-detail")
class AgencyDetailView(APIView):
    """PATCH: a network admin edits any agency; an agency admin their own profile."""

    permission_classes = [role_required(Role.NETWORK_ADMIN, Role.AGENCY_ADMIN)]

    @operation(
        AgencyProfileSerializer,
        AgencySerializer,
        refusals={409: "A government agency with such members stays so."},
    )
    def patch(self, request, agency_id: int):
        changes = valid_body(AgencyProfileSerializer, request, partial=True)
        agency = network.agency_update(actor=request.member, agency_id=agency_id, changes=changes)
        return Response(AgencySerializer(agency).data)


class _AgencyChangeView(APIView):
    """Network admins: POST changes one agency (``change``, a service); the answer is
    the agency."""

    permission_classes = [role_required(Role.NETWORK_ADMIN)]
    change = None  # the service, a staticmethod

    def post(self, request, agency_id: int):
        agency = self.change(actor=request.member, agency_id=agency_id)
        return Response(AgencySerializer(agency).data)


@route("agencies/<int:agency_id>/suspend/", name="agency-suspend")
@operation(None, AgencySerializer, refusals={409: "Already suspended, or your own agency."})
class AgencySuspendView(_AgencyChangeView):
    """Network admins: suspend an agency (its members are signed out everywhere)."""

    change = staticmethod(network.agency_suspend)


@route("agencies/<int:agency_id>/reinstate/", name="agency-reinstate")
@operation(None, AgencySerializer, refusals={409: "Not suspended."})
class AgencyReinstateView(_AgencyChangeView):
    """Network admins: lift an agency's suspension."""

    change = staticmethod(network.agency_reinstate)


def _invite(*, actor, agency: int, **invitee):
    """``invitation_create`` for the API's body, which names the agency ``agency``."""
    return invitations.invitation_create(actor=actor, agency_id=agency, **invitee)


@route("invitations/", name="invitation-list")
class InvitationListView(GenericAPIView):
    """Invite someone to an agency in a role; the link goes only by email."""

    permission_classes = [role_required(Role.NETWORK_ADMIN, Role.AGENCY_ADMIN)]
    serializer_class = InvitationCreatedSerializer

    @operation(
        InvitationCreateSerializer,
        InvitationCreatedSerializer,
        status=201,
        refusals={404: "No such agency you may invite into."},
    )
    def post(self, request):
        return created(self, request, InvitationCreateSerializer, _invite)


@route("invitations/accept/", name="invitation-accept")
class InvitationAcceptView(APIView):
    """Use an invitation or password-reset link once: set the password."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [InvitationThrottle]

    @operation(
        InvitationAcceptSerializer,
        InvitationAcceptedSerializer,
        refusals={404: "The link is unknown, used, expired or tampered with (alike)."},
    )
    def post(self, request):
        member = invitations.invitation_accept(**valid_body(InvitationAcceptSerializer, request))
        return Response({"username": member.user.username})


@route("password-reset/", name="password-reset")
class PasswordResetView(APIView):
    """Ask for a password-reset link by email. Always 202: the answer never says
    whether the account exists."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [InvitationThrottle]

    @operation(PasswordResetSerializer, None, status=202)
    def post(self, request):
        username = valid_body(PasswordResetSerializer, request)["username"]
        invitations.password_reset_request(username=username)
        return Response(status=status.HTTP_202_ACCEPTED)
