from django.contrib.auth import get_user_model
from rest_framework import serializers

from agencies.models import Agency, Membership, Role
from agencies.network import PROFILE_FIELDS


class AgencySerializer(serializers.ModelSerializer):
    suspended = serializers.SerializerMethodField()

    class Meta:
        model = Agency
        fields = ["id", "slug", "name", "kind", *PROFILE_FIELDS, "suspended"]

    def get_suspended(self, agency: Agency) -> bool:
        return not agency.is_active


class AgencyBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ["id", "slug", "name", "kind"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")
    agency = AgencyBriefSerializer()
    role = serializers.CharField()


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    locked_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        default=None,
        help_text="when the member's sign-in lock ends (null: not locked)",
    )
    mfa_enrolled = serializers.BooleanField(
        read_only=True, default=False, help_text="whether the member has a second factor"
    )

    class Meta:
        model = Membership
        fields = [
            "id",
            "username",
            "role",
            "is_active",
            "locked_until",
            "mfa_enrolled",
            "created_at",
        ]


class MemberCreateSerializer(serializers.Serializer):
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z", max_length=get_user_model()._meta.get_field("username").max_length
    )
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="a code from the authenticator app, or a recovery code (each works once); "
        "required when the member has a second factor or MFA is required",
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField()


class WsTicketResponseSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="single use; send it in the socket's hello")
    expires_in = serializers.IntegerField(help_text="seconds")
