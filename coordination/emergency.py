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
from srn.prepared import prepared

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


def grants_to(
    agency_id: int, member_id, referral_ids: Iterable, *, at: datetime
) -> dict[object, EmergencyGrant]:
    """``{referral id: EmergencyGrant}``: what the active emergency accesses open of the
    referrals to one member of the agency (``ANY_MEMBER``: to any of its members).
    Referrals with none are absent. One query, none without a member."""
    referral_ids = set(referral_ids)
    if member_id is None or not referral_ids or not enabled():
        return {}
    found: dict[object, EmergencyGrant] = defaultdict(EmergencyGrant)
    # ``active()`` as two plain queries: the open accesses, then (only when there are
    # any, which is rare) their survivors' refusals. The one query with the refusals
    # as a subquery cost every caseworker's decision ~1 ms to compile.
    if member_id == ANY_MEMBER:
        rows = _open_to_agency(agency_id=agency_id, referral_ids=referral_ids, at=at)
    else:
        rows = _open_to_member(
            agency_id=agency_id, member_id=member_id, referral_ids=referral_ids, at=at
        )
    refused = set()
    if rows:
        survivors = {row[3] for row in rows}
        refused = set(barred(survivors).values_list("consent__survivor_id", flat=True))
    for referral_id, access_id, categories, survivor_id in rows:
        if survivor_id in refused:
            continue
        found[referral_id].categories.update(categories)
        found[referral_id].access_ids.append(str(access_id))
    return found


def _open(accesses: QuerySet, referral_ids, at: datetime) -> QuerySet:
    return (
        accesses.filter(opened_at__lte=at, expires_at__gt=at, referral_id__in=referral_ids)
        .values_list("referral_id", "id", "categories", "referral__survivor_id")
        .order_by("opened_at", "id")
    )


# Every caseworker's access decision asks these: compiled once (``srn.prepared``).
# (Two queries, not one with ``member_id`` as a value: ``ANY_MEMBER`` changes its shape.)
@prepared
def _open_to_member(*, agency_id: int, member_id: int, referral_ids, at: datetime) -> QuerySet:
    return _open(_of(EmergencyAccess.objects.all(), agency_id, member_id), referral_ids, at)


@prepared
def _open_to_agency(*, agency_id: int, referral_ids, at: datetime) -> QuerySet:
    return _open(_of(EmergencyAccess.objects.all(), agency_id, ANY_MEMBER), referral_ids, at)


def granted_to(agency_id: int, member_id, *, referral: OuterRef, at: datetime) -> QuerySet:
    """The active emergency accesses of the member for the referral ``referral`` refers
    to (for an ``Exists`` subquery)."""
    return _of(active(at=at), agency_id, member_id).filter(referral_id=referral)
