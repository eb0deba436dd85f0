"""The facts one access decision is made of, fetched together: what the survivors'
active consents grant every agency (``consent.grants``) and, for a member deciding on
referrals they received, what their emergency accesses open (``coordination.emergency``).

One query (``UNION ALL`` of the two) per decision, compiled once per shape
(``srn.prepared``). The facts stay with the decision (``Decision.facts``): another
agency's hearing of the same change (``coordination.outbox``) is decided on them, at
the same moment, when they hold what it needs. Nothing here decides what anyone may
see; ``coordination.access_rule`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import DateTimeField, F, IntegerField, QuerySet, UUIDField, Value

from consent import grants
from coordination import emergency
from srn.prepared import prepared

_CONSENT, _EMERGENCY = 0, 1
# One row of either kind: (kind, survivor or referral, consent or access, categories,
# the agency a consent names, the referral's survivor, when an access was opened).
_COLUMNS = ("f_kind", "f_key", "f_id", "f_categories", "f_agency", "f_survivor", "f_at")


@dataclass(frozen=True)
class Facts:
    """Consent's grants for ``survivors`` (every agency's) and the emergency accesses of
    ``opener`` (agency, member) for ``referrals``, all at ``at``."""

    at: datetime
    survivors: frozenset
    consents: dict = field(default_factory=dict)  # {survivor: {agency: Grant}}
    opener: tuple | None = None
    referrals: frozenset = frozenset()
    opened: dict = field(default_factory=dict)  # {referral: EmergencyGrant}

    def granted_to(self, agency_id: int) -> dict[object, grants.Grant]:
        """``{survivor: Grant}``: what the consents grant the agency (those with none
        absent)."""
        return {s: found[agency_id] for s, found in self.consents.items() if agency_id in found}

    def hold(self, survivors: set, opener: tuple | None, referrals: set) -> bool:
        """Whether these facts answer for those survivors' consents and, with an
        ``opener``, its emergency accesses for those referrals."""
        if not survivors <= self.survivors:
            return False
        return not _asks_emergency(opener, referrals) or (
            opener == self.opener and referrals <= self.referrals
        )


def _asks_emergency(opener: tuple | None, referrals: set) -> bool:
    return opener is not None and opener[1] is not None and bool(referrals) and emergency.enabled()


def fetch(survivors: Iterable, *, opener: tuple | None, referrals: Iterable, at: datetime) -> Facts:
    """The facts for the survivors' consents and, where ``opener`` is ``(agency,
    member)`` with a member (``ANY_MEMBER`` included), its emergency accesses for the
    ``referrals``: one query, none when nothing is asked."""
    survivors, referrals = frozenset(survivors), frozenset(referrals)
    if not _asks_emergency(opener, referrals):
        opener, referrals = None, frozenset()
    if not survivors and opener is None:
        return Facts(at, survivors)
    if opener is None:
        rows = _consents(survivor_ids=survivors, at=at)
    elif opener[1] == emergency.ANY_MEMBER:
        rows = _consents_and_any(
            survivor_ids=survivors, agency_id=opener[0], referral_ids=referrals, at=at
        )
    else:
        rows = _consents_and_member(
            survivor_ids=survivors,
            agency_id=opener[0],
            member_id=opener[1],
            referral_ids=referrals,
            at=at,
        )
    consents, accesses = [], []
    for kind, key, found_id, categories, agency_id, survivor_id, opened_at in rows:
        if kind == _CONSENT:
            consents.append((key, found_id, categories, agency_id))
        else:
            accesses.append((opened_at, found_id, key, categories, survivor_id))
    return Facts(
        at, survivors, grants.by_agency(consents), opener, referrals, emergency.granted(accesses)
    )


def _consent_rows(survivor_ids, at: datetime) -> QuerySet:
    return grants.granted_by_agency(survivor_ids, at=at).annotate(
        f_kind=Value(_CONSENT),
        f_key=F("survivor_id"),
        f_id=F("id"),
        f_categories=F("categories"),
        f_agency=F("recipients"),
        f_survivor=Value(None, output_field=UUIDField()),
        f_at=Value(None, output_field=DateTimeField()),
    )


def _access_rows(agency_id: int, member_id, referral_ids, at: datetime) -> QuerySet:
    return (
        emergency.opened_to(agency_id, member_id, referral_ids, at=at)
        .order_by()
        .annotate(
            f_kind=Value(_EMERGENCY),
            f_key=F("referral_id"),
            f_id=F("id"),
            f_categories=F("categories"),
            f_agency=Value(None, output_field=IntegerField()),
            f_survivor=F("referral__survivor_id"),
            f_at=F("opened_at"),
        )
    )


def _consents_and_accesses(survivor_ids, agency_id: int, member_id, referral_ids, at) -> QuerySet:
    accesses = _access_rows(agency_id, member_id, referral_ids, at).values_list(*_COLUMNS)
    return _consent_rows(survivor_ids, at).values_list(*_COLUMNS).union(accesses, all=True)


# Every request's decision asks one of these: compiled once per shape (``ANY_MEMBER``
# is a shape of its own: it drops the member's filter).
@prepared
def _consents(*, survivor_ids, at: datetime) -> QuerySet:
    return _consent_rows(survivor_ids, at).values_list(*_COLUMNS)


@prepared
def _consents_and_member(
    *, survivor_ids, agency_id: int, member_id: int, referral_ids, at: datetime
) -> QuerySet:
    return _consents_and_accesses(survivor_ids, agency_id, member_id, referral_ids, at)


@prepared
def _consents_and_any(*, survivor_ids, agency_id: int, referral_ids, at: datetime) -> QuerySet:
    return _consents_and_accesses(survivor_ids, agency_id, emergency.ANY_MEMBER, referral_ids, at)
