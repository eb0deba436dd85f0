"""What a survivor profile, a consent and a revocation accept, declared once. The API
and the pages build their fields from these; the services keep the rules that need the
stored survivor or several fields at once (owner agency, at least one name, a minor's
guardian, no backdating, expiry within ``CONSENT_MAX_DAYS``, recipients)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from agencies.inputs import (
    AwareDateTime,
    Choice,
    Choices,
    Date,
    Email,
    Flag,
    Ids,
    Rules,
    Text,
    Uuid,
    choices_of,
)
from consent.categories import Category
from consent.models import Method, Purpose, RevocationChannel, SignedBy
from consent.services.erasure import MEMBER_REASONS

NAME_MAX = 200
TEXT_MAX = 2000
LANGUAGE_MAX = 35  # a BCP 47 tag
EARLIEST_BIRTH_YEAR = 1900
RECIPIENTS_MAX = 50


def plausible_birth_date(born: date) -> None:
    if born > date.today() or born.year < EARLIEST_BIRTH_YEAR:
        raise ValidationError("Not a plausible date of birth.", code="implausible")


lowercase_sha256 = RegexValidator(
    r"^[0-9a-f]{64}\Z", "Must be 64 lowercase hexadecimal characters.", code="not_sha256"
)


def services_not_conditional(value: bool) -> None:
    if value is not True:
        raise ValidationError(
            "Services must not be conditional on consent; this must be true.",
            code="must_be_true",
        )


def _optional(max_length: int) -> Text:
    return Text(max_length=max_length, required=False)


SURVIVOR: Rules = {
    "given_name": _optional(NAME_MAX),
    "family_name": _optional(NAME_MAX),
    "date_of_birth": Date(required=False, validators=(plausible_birth_date,)),
    "phone": _optional(64),
    "email": Email(required=False),
    "safe_contact_instructions": _optional(TEXT_MAX),
    "address": _optional(TEXT_MAX),
    "nationality": _optional(100),
    "immigration_status": _optional(NAME_MAX),
    "preferred_language": _optional(LANGUAGE_MAX),
}

CONSENT: Rules = {
    "survivor": Uuid(),
    "recipients": Ids(max_items=RECIPIENTS_MAX),
    "categories": Choices(choices=choices_of(Category), max_items=len(Category)),
    "purpose": Choice(
        choices=choices_of(Purpose), required=False, default=Purpose.SERVICE_REFERRAL.value
    ),
    "method": Choice(choices=choices_of(Method)),
    "evidence_sha256": Text(max_length=64, validators=(lowercase_sha256,)),
    "language": Text(max_length=LANGUAGE_MAX),
    "interpreter_used": Flag(),
    "notice_version": Text(max_length=32),
    "services_not_conditional": Flag(validators=(services_not_conditional,)),
    "signed_by": Choice(choices=choices_of(SignedBy)),
    "guardian_not_alleged_trafficker": Flag(required=False, default=False),
    "valid_from": AwareDateTime(required=False),
    "expires_at": AwareDateTime(),
}

REVOCATION: Rules = {
    "reason": Text(max_length=TEXT_MAX),
    # ``erasure`` is the system's, when an erasure ends the consent.
    "channel": Choice(
        choices=tuple(c for c in choices_of(RevocationChannel) if c[0] != RevocationChannel.ERASURE)
    ),
    # The survivor also refuses emergency access (break-glass) to their data.
    "no_emergency_access": Flag(required=False, default=False),
}

ERASURE: Rules = {
    "reason": Choice(choices=choices_of(MEMBER_REASONS)),
}
