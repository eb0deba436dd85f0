"""The facts of emergency access (break-glass) the access rule is composed from, as
``consent.grants`` holds those of consent: which active emergency accesses (opened,
not expired, while the network allows them, for a survivor who has not refused them)
open which categories of which referrals, to which member. Nothing here decides what
anyone may see; ``coordination.access`` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from consent.models import ConsentRevocation
from coordination.models import EmergencyAccess

# ``member_id`` that asks for the accesses of any member of the agency: an agency's
# stream carries an event when any of its members may hear of it (``coordination.outbox``).
ANY_MEMBER = "any"


@dataclass
class EmergencyGrant:
    """Everything the active emergency accesses open of one referral."""

    categories: set[str] = field(default_factory=set)
    access_ids: list[str] = field(default_factory=list)


def barred(survivor: OuterRef | object) -> QuerySet[ConsentRevocation]:
    """The revocations by which the survivor (or, given a set, any of them) refused
    emergency access."""
    if isinstance(survivor, set):
        found = ConsentRevocation.objects.filter(consent__survivor_id__in=survivor)
    else:
        found = ConsentRevocation.objects.filter(consent__survivor_id=survivor)
    return found.filter(no_emergency_access=True)


def enabled() -> bool:
    return settings.EMERGENCY_ACCESS_ENABLED


def active(*, at: datetime) -> QuerySet[EmergencyAccess]:
    """Emergency accesses open at ``at``: none while the network has switched them off,
    and none for a survivor who refused them (even one opened before the refusal)."""
    if not enabled():
        return EmergencyAccess.objects.none()
    return EmergencyAccess.objects.filter(opened_at__lte=at, expires_at__gt=at).exclude(
        Exists(barred(OuterRef("referral__survivor_id")))
    )


def _of(accesses: QuerySet, agency_id: int, member_id) -> QuerySet:
    accesses = accesses.filter(agency_id=agency_id)
    return accesses if member_id == ANY_MEMBER else accesses.filter(member_id=member_id)


def opened_to(agency_id: int, member_id, referral_ids, *, at: datetime) -> QuerySet:
    """The emergency accesses open at ``at`` for the referrals, of one member of the
    agency (``ANY_MEMBER``: of any of its members), before the survivors' refusals
    (``granted`` applies those). ``coordination.access_facts`` reads them with consent's
    grants, in one query."""
    return _of(EmergencyAccess.objects.all(), agency_id, member_id).filter(
        opened_at__lte=at, expires_at__gt=at, referral_id__in=referral_ids
    )


def granted(rows: Iterable[tuple]) -> dict[object, EmergencyGrant]:
    """``{referral id: EmergencyGrant}`` from ``(opened at, access id, referral id,
    categories, survivor id)`` rows of ``opened_to``, oldest first: what they open, but
    none for a survivor who refused emergency access (asked only when there are any,
    which is rare)."""
    rows = sorted(rows, key=lambda row: (row[0], row[1]))
    refused: set = set()
    if rows:
        survivors = {row[4] for row in rows}
        refused = set(barred(survivors).values_list("consent__survivor_id", flat=True))
    found: dict[object, EmergencyGrant] = defaultdict(EmergencyGrant)
    for _, access_id, referral_id, categories, survivor_id in rows:
        if survivor_id not in refused:
            found[referral_id].categories.update(categories)
            found[referral_id].access_ids.append(str(access_id))
    return found


def granted_to(agency_id: int, member_id, *, referral: OuterRef, at: datetime) -> QuerySet:
    """The active emergency accesses of the member for the referral ``referral`` refers
    to (for an ``Exists`` subquery)."""
    return _of(active(at=at), agency_id, member_id).filter(referral_id=referral)
