"""The wire shapes of the referral API's responses, for the OpenAPI schema. Responses
are built by ``coordination.presenters``; these describe them field by field (a test
checks each presenter's output against its shape)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from agencies.inputs import Flag
from consent import inputs as consent_inputs
from consent.categories import Category
from coordination import access, states
from coordination.api.idempotency import KEY_MAX
from coordination.models import EmergencyReason, ReviewStatus

# Request headers the views read themselves. Every error response carries the one error
# body (``srn.openapi`` adds it, with the statuses each operation's shape implies).
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX},
    OpenApiParameter.HEADER,
    description="Retrying with the same key and body returns the first response and "
    "creates nothing; the same key with another body is a 422.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag from a GET: refused with 412 if the object changed since.",
)


class SurvivorShown(serializers.Serializer):
    """A survivor as the caller may see them: only released PII fields are present."""

    id = serializers.UUIDField()
    ref = serializers.CharField(help_text="pseudonymous reference, e.g. S-7F3K92QD")
    preferred_language = serializers.CharField(allow_blank=True)
    given_name = serializers.CharField(required=False, allow_null=True)
    family_name = serializers.CharField(required=False, allow_null=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    phone = serializers.CharField(required=False, allow_null=True)
    email = serializers.CharField(required=False, allow_null=True)
    safe_contact_instructions = serializers.CharField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_null=True)
    nationality = serializers.CharField(required=False, allow_null=True)
    immigration_status = serializers.CharField(required=False, allow_null=True)


class SurvivorProfile(SurvivorShown):
    """The owner agency's own survivor profile (every field present)."""

    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class SurvivorErased(serializers.Serializer):
    """What is left of an erased survivor: the pseudonymous reference and when."""

    id = serializers.UUIDField()
    ref = serializers.CharField()
    erased_at = serializers.DateTimeField()


class RecipientShown(serializers.Serializer):
    agency = serializers.IntegerField()
    status = serializers.ChoiceField(choices=states.STATES)


class ReferralShown(serializers.Serializer):
    """A referral redacted by the access rule."""

    id = serializers.UUIDField()
    survivor = SurvivorShown()
    referring_agency = serializers.IntegerField()
    recipients = RecipientShown(many=True)
    needs = serializers.ListField(child=serializers.CharField())
    urgency = serializers.CharField()
    region = serializers.CharField(allow_blank=True)
    language = serializers.CharField(allow_blank=True)
    narrative = serializers.CharField(
        required=False, allow_null=True, help_text="present only under `narrative`"
    )
    created_at = serializers.DateTimeField()
    direction = serializers.ChoiceField(choices=[access.OUTGOING, access.INCOMING])
    released_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices)
    )
    emergency_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices),
        help_text="those of `released_categories` only the caller's emergency access released",
    )


class _ConsentHead(serializers.Serializer):
    id = serializers.UUIDField()
    survivor = serializers.UUIDField()
    survivor_ref = serializers.CharField()
    recipients = serializers.ListField(child=serializers.IntegerField())
    categories = serializers.ListField(child=serializers.ChoiceField(choices=Category.choices))


# What the consent form attests (``consent.inputs.CONSENT`` but whom, to whom, what and
# when), shown as recorded: a flag as a boolean, any other answer as its string.
_ConsentAttested = type(
    "_ConsentAttested",
    (_ConsentHead,),
    {
        name: serializers.BooleanField() if isinstance(rule, Flag) else serializers.CharField()
        for name, rule in consent_inputs.CONSENT.items()
        if name not in {*_ConsentHead._declared_fields, "valid_from", "expires_at"}
    },
)


class ConsentShown(_ConsentAttested):
    valid_from = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revocation_channel = serializers.CharField(allow_null=True)
    no_emergency_access = serializers.BooleanField(
        help_text="the survivor also refused emergency access when revoking"
    )


class EmergencyAccessShown(serializers.Serializer):
    """An emergency access (break-glass), to the member who opened it and to compliance."""

    id = serializers.UUIDField()
    referral = serializers.UUIDField()
    survivor_ref = serializers.CharField()
    agency = serializers.IntegerField()
    member = serializers.CharField(help_text="username of the member it opened to")
    categories = serializers.ListField(child=serializers.ChoiceField(choices=Category.choices))
    reason_code = serializers.ChoiceField(choices=EmergencyReason.choices)
    justification = serializers.CharField()
    opened_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    review_note = serializers.CharField(allow_null=True)
    reviewed_by = serializers.CharField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)


class EmergencyBasis(serializers.Serializer):
    id = serializers.UUIDField()
    reason_code = serializers.CharField(allow_blank=True)


class DisclosureLine(serializers.Serializer):
    """One time the survivor's data reached another agency."""

    at = serializers.DateTimeField()
    agency = serializers.IntegerField(allow_null=True)
    agency_name = serializers.CharField()
    categories = serializers.ListField(child=serializers.ChoiceField(choices=Category.choices))
    basis = serializers.ChoiceField(choices=["consent", "emergency"])
    consents = serializers.ListField(child=serializers.UUIDField())
    emergency_accesses = EmergencyBasis(many=True)


class NoteShown(serializers.Serializer):
    id = serializers.UUIDField()
    author_agency = serializers.IntegerField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class NotePage(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = NoteShown(many=True)


class EventShown(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.CharField(
        help_text="referral.<status>, note.added, consent.revoked, emergency.opened or "
        "emergency.reviewed"
    )
    referral = serializers.UUIDField()
    survivor_ref = serializers.CharField()
    agency = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=states.STATES, required=False)
    at = serializers.DateTimeField()


class EventBatch(serializers.Serializer):
    results = EventShown(many=True)
    last_seq = serializers.IntegerField(help_text="continue from here")
