"""What the referral API accepts. What it answers is built by ``coordination.presenters``
and described in ``coordination.api.schema``."""

from __future__ import annotations

from rest_framework import serializers

from agencies.models import Need
from consent.categories import Category
from consent.models import Method, Purpose, RevocationChannel, SignedBy
from coordination import states
from coordination.models import Urgency


class SurvivorInputSerializer(serializers.Serializer):
    given_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    family_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    safe_contact_instructions = serializers.CharField(
        max_length=2000, required=False, allow_blank=True
    )
    address = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    nationality = serializers.CharField(max_length=100, required=False, allow_blank=True)
    immigration_status = serializers.CharField(max_length=200, required=False, allow_blank=True)
    preferred_language = serializers.CharField(max_length=35, required=False, allow_blank=True)

    def to_internal_value(self, data):
        unknown = set(data) - set(self.fields) if isinstance(data, dict) else set()
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        values = super().to_internal_value(data)
        if values.get("date_of_birth") is not None:
            values["date_of_birth"] = values["date_of_birth"].isoformat()
        return values


class ConsentInputSerializer(serializers.Serializer):
    survivor = serializers.UUIDField()
    recipients = serializers.ListField(child=serializers.IntegerField(), max_length=50)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), max_length=20
    )
    purpose = serializers.ChoiceField(choices=Purpose.choices, default=Purpose.SERVICE_REFERRAL)
    method = serializers.ChoiceField(choices=Method.choices)
    evidence_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
    language = serializers.CharField(max_length=35)
    interpreter_used = serializers.BooleanField()
    notice_version = serializers.CharField(max_length=32)
    services_not_conditional = serializers.BooleanField()
    signed_by = serializers.ChoiceField(choices=SignedBy.choices)
    guardian_not_alleged_trafficker = serializers.BooleanField(default=False)
    valid_from = serializers.DateTimeField(required=False)
    expires_at = serializers.DateTimeField()


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    channel = serializers.ChoiceField(choices=RevocationChannel.choices)


class ReferralInputSerializer(serializers.Serializer):
    survivor = serializers.UUIDField()
    recipients = serializers.ListField(child=serializers.IntegerField(), max_length=50)
    needs = serializers.ListField(
        child=serializers.ChoiceField(choices=Need.choices), max_length=20
    )
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=35, required=False, allow_blank=True, default="")
    narrative = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, default=""
    )


class TransitionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=states.USER_ACTIONS)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    outcome = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoteInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
