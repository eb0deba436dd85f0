"""The referral workflow's state changes, one module per domain action. Each public
service is one durable transaction that writes the change, its audit entry and its
outbox event(s); ``statuses.status_move`` is the only code that changes a status."""

from coordination.services.consents import (
    consent_expire_due,
    consent_record,
    consent_record_many,
    consent_revoke,
)
from coordination.services.emergency import emergency_access_open, emergency_access_review
from coordination.services.erasure import (
    past_retention,
    survivor_erase,
    survivor_erase_past_retention,
)
from coordination.services.referrals import (
    note_add,
    referral_create,
    referral_open,
    referral_transition,
)

__all__ = [
    "consent_expire_due",
    "consent_record",
    "consent_record_many",
    "consent_revoke",
    "emergency_access_open",
    "emergency_access_review",
    "note_add",
    "past_retention",
    "referral_create",
    "referral_open",
    "referral_transition",
    "survivor_erase",
    "survivor_erase_past_retention",
]
