"""The survivor and their choices: profiles (``survivors``) and consent records
(``records``). Each writes its change and its audit entry."""

from consent.services.records import (
    Revocation,
    consent_create,
    consent_for_update,
    revocation_create,
)
from consent.services.survivors import survivor_create, survivor_update

__all__ = [
    "Revocation",
    "consent_create",
    "consent_for_update",
    "revocation_create",
    "survivor_create",
    "survivor_update",
]
