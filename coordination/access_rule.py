"""The rule itself: releases and the one ``Decision`` per request (see
``coordination.access``, the module everything imports, for the rule in words;
``coordination.access_querysets`` holds the same rule as querysets)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict, Unpack

from agencies.models import Role
from consent import grants
from consent.categories import FIELD_CATEGORY, RECIPIENT_CATEGORIES, Category
from coordination import access_facts, states
from coordination.access_facts import Facts
from coordination.emergency import EmergencyGrant

REFERRER = "referrer"
RECIPIENT = "recipient"
NONE = "none"


@dataclass(frozen=True)
class Release:
    """What one member may see of one referral, and under which consents — and, for
    the categories no consent released, under which of the member's emergency accesses
    (``emergency_categories``, ``emergency_ids``)."""

    relation: str
    categories: frozenset[str] = frozenset()
    consent_ids: tuple[str, ...] = ()
    emergency_categories: frozenset[str] = frozenset()
    emergency_ids: tuple[str, ...] = ()

    @property
    def visible(self) -> bool:
        return self.relation != NONE

    def audit_detail(self) -> dict:
        """What a disclosure's audit entry adds for this release: the emergency accesses
        that released part of it (``audit.ledger`` marks such disclosures ``emergency``)."""
        if not self.emergency_categories:
            return {}
        return {
            "emergency_access": list(self.emergency_ids),
            "emergency_categories": sorted(self.emergency_categories),
        }

    def fields(self) -> frozenset[str]:
        """The PII field names released."""
        return frozenset(name for name, cat in FIELD_CATEGORY.items() if cat in self.categories)


@dataclass(frozen=True)
class BackRelease:
    """What the referrer may learn back from one recipient."""

    status_updates: bool = False
    case_notes: bool = False
    consent_ids: tuple[str, ...] = field(default=())


HIDDEN = Release(NONE)

# The side of a referral each role handles; other roles handle none.
SIDE_OF_ROLE = {Role.LIAISON: REFERRER, Role.CASEWORKER: RECIPIENT}

# Statuses the referrer always sees as they are: its own acts and the consent's state.
ALWAYS_VISIBLE_STATUSES = frozenset(
    {states.AWAITING_CONSENT, states.REQUESTED, states.CANCELLED, states.CONSENT_REVOKED}
)
# Statuses a referrer may filter its outgoing referrals by. Not "requested": masked
# statuses read as "requested", so filtering on the true one would tell them apart.
REFERRER_FILTERABLE_STATUSES = frozenset(
    {states.AWAITING_CONSENT, states.CANCELLED, states.CONSENT_REVOKED}
)
REFERRER_FILTER_REFUSED = (
    "Outgoing referrals filter only by awaiting_consent, cancelled or consent_revoked: "
    "other statuses reach you only under consent."
)
OUTGOING = "outgoing"
INCOMING = "incoming"


def _recipient_ids(referral) -> set[int]:
    ids = getattr(referral, "recipient_agency_ids", None)
    if ids is None:
        ids = {status.agency_id for status in referral.recipients.all()}
    return set(ids)


def _on_side(release_: Release, role: str | None) -> Release:
    if role is None or release_.relation == SIDE_OF_ROLE.get(role):
        return release_
    return HIDDEN


def handles_incoming(role: str | None) -> bool:
    return role is None or SIDE_OF_ROLE.get(role) == RECIPIENT


def _recipient_release(grant: grants.Grant | None, opened: EmergencyGrant | None) -> Release:
    """The consents' categories, plus those the member's emergency accesses open that
    no consent released (recorded apart, with the accesses that opened them)."""
    consented = frozenset(grant.categories) & RECIPIENT_CATEGORIES if grant else frozenset()
    extra = frozenset()
    if opened is not None:
        extra = frozenset(opened.categories) & RECIPIENT_CATEGORIES - consented
    return Release(
        RECIPIENT,
        consented | extra,
        tuple(sorted(grant.consent_ids)) if grant else (),
        extra,
        tuple(opened.access_ids) if extra else (),
    )


class Asker(TypedDict, total=False):
    """Who asks, and when, as the access functions take it after the agency: ``at`` (now
    by default), the member's ``role`` and their ``member_id``, and ``facts`` already
    fetched for this moment (see ``releases``, whose explicit signature the others pass
    these on to, so a misspelt one is refused)."""

    at: datetime | None
    role: str | None
    member_id: int | str | None
    facts: Facts | None


def releases(
    agency_id: int,
    referrals: Iterable,
    *,
    at: datetime | None = None,
    role: str | None = None,
    member_id: int | str | None = None,
    facts: Facts | None = None,
) -> dict:
    """``{referral.id: Release}`` for a batch, on one query of consent's and emergency
    access's facts (``coordination.access_facts``); with ``role``, only the side that
    role handles is visible.

    ``member_id`` is the requesting member (a ``Membership`` id): their own active
    emergency accesses add to what consent releases to the agency. ``None`` decides for
    the agency by consent alone; ``ANY_MEMBER`` counts every member's accesses (whether
    the agency's stream may carry an event at all). ``facts`` fetched for another
    decision at this moment serve when they hold what this one needs (no query).

    ``referrals`` must carry ``id``, ``referring_agency_id``, ``survivor_id`` and their
    recipient agency ids (``recipient_agency_ids``) or prefetched ``recipients``.
    """
    referrals = list(referrals)
    facts = _facts(agency_id, referrals, at=at, role=role, member_id=member_id, known=facts)
    granted = facts.granted_to(agency_id)
    opened = facts.opened if facts.opener == (agency_id, member_id) else {}
    result = {}
    for referral in referrals:
        if referral.referring_agency_id == agency_id:
            result[referral.id] = Release(REFERRER, frozenset(RECIPIENT_CATEGORIES))
        elif agency_id in _recipient_ids(referral) and (
            referral.survivor_id in granted or referral.id in opened
        ):
            result[referral.id] = _recipient_release(
                granted.get(referral.survivor_id), opened.get(referral.id)
            )
        else:
            result[referral.id] = HIDDEN
        result[referral.id] = _on_side(result[referral.id], role)
    return result


def _facts(
    agency_id: int,
    referrals: list,
    *,
    at: datetime | None,
    role: str | None,
    member_id,
    known: Facts | None,
) -> Facts:
    """The facts a decision on ``referrals`` needs: the consents of the survivors of the
    referrals on the side(s) ``role`` handles (for those it received, what they grant
    it; for those it referred, the recipients' back-releases), and the member's
    emergency accesses for those it received. ``known`` when it holds them."""
    incoming = handles_incoming(role)
    outgoing = role is None or SIDE_OF_ROLE.get(role) == REFERRER
    received, survivors = set(), set()
    for referral in referrals:
        if referral.referring_agency_id == agency_id:
            if outgoing:
                survivors.add(referral.survivor_id)
        elif incoming and agency_id in _recipient_ids(referral):
            received.add(referral.id)
            survivors.add(referral.survivor_id)
    opener = (agency_id, member_id) if member_id is not None else None
    if known is not None and known.hold(survivors, opener, received):
        return known
    return access_facts.fetch(survivors, opener=opener, referrals=received, at=grants.moment(at))


def release(agency_id: int, referral, **asker: Unpack[Asker]) -> Release:
    return releases(agency_id, [referral], **asker)[referral.id]


def back_releases_many(referrals: Iterable, *, at: datetime | None = None) -> dict:
    """``{referral.id: {recipient agency id: BackRelease}}`` in one query: what each
    referral's referrer may learn back from each recipient."""
    referrals = list(referrals)
    if not referrals:
        return {}
    facts = access_facts.fetch(
        {r.survivor_id for r in referrals}, opener=None, referrals=(), at=grants.moment(at)
    )
    return _backs(referrals, facts)


def _backs(referrals: list, facts: Facts) -> dict:
    return {
        referral.id: {
            agency_id: BackRelease(
                status_updates=Category.STATUS_UPDATES in grant.categories,
                case_notes=Category.CASE_NOTES in grant.categories,
                consent_ids=tuple(sorted(grant.consent_ids)),
            )
            for agency_id, grant in facts.consents.get(referral.survivor_id, {}).items()
        }
        for referral in referrals
    }


def back_releases(referral, *, at: datetime | None = None) -> dict[int, BackRelease]:
    return back_releases_many([referral], at=at).get(referral.id, {})


def status_seen_by_referrer(status: str, back: BackRelease | None) -> str:
    """Beyond ``requested`` the referrer sees a recipient's status only under
    ``status_updates``; otherwise it reads ``requested`` (released, nothing more)."""
    if status in ALWAYS_VISIBLE_STATUSES or (back is not None and back.status_updates):
        return status
    return states.REQUESTED


# --- one decision per request -----------------------------------------------------------


@dataclass
class Decision:
    """What one member of an agency may see of a set of referrals, decided once for a
    request.

    Built by ``decide``; the presenter, the ETag, the notes shown, the audit entry and
    the response all read it, so the rule is applied once and the same way for each.
    """

    agency_id: int
    releases: dict
    backs: dict
    facts: Facts | None = None  # what it was decided on (``coordination.access_facts``)

    def release(self, referral) -> Release:
        return self.releases[referral.id]

    def recipients_shown(self, referral) -> list[tuple[int, str, int]]:
        """``(agency, status, version)`` of the recipient statuses the agency is shown:
        the referrer sees every recipient's status as consent lets it; a recipient sees
        its own status only, not who else was asked."""
        recipients = sorted(referral.recipients.all(), key=lambda r: r.agency_id)
        if self.release(referral).relation == REFERRER:
            back = self.backs.get(referral.id, {})
            return [
                (r.agency_id, status_seen_by_referrer(r.status, back.get(r.agency_id)), 0)
                for r in recipients
            ]
        return [
            (r.agency_id, r.status, r.version) for r in recipients if r.agency_id == self.agency_id
        ]

    def notes_shown(self, referral, notes: Iterable) -> list:
        """Own agency's notes; the referrer also sees a recipient's notes under its
        ``case_notes`` consent; a recipient sees the referrer's under ``narrative``."""
        granted = self.release(referral)
        back = self.backs.get(referral.id, {})

        def shown(note) -> bool:
            if note.author_agency_id == self.agency_id:
                return True
            if granted.relation == REFERRER:
                about = back.get(note.author_agency_id)
                return about is not None and about.case_notes
            return (
                note.author_agency_id == referral.referring_agency_id
                and Category.NARRATIVE in granted.categories
            )

        return [note for note in notes if shown(note)]

    def etag(self, referral) -> str:
        """The referral's ETag as this agency sees it: it follows only what is shown
        (masked statuses stay masked), so a hidden change never changes the tag."""
        seen = self.recipients_shown(referral)
        if self.release(referral).relation == REFERRER:
            seen = [[agency, status] for agency, status, _ in seen]
        else:
            seen = [list(row) for row in seen]
        return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:20]


def decide(agency_id: int, referrals: Iterable, **asker: Unpack[Asker]) -> Decision:
    """The decision for a batch of referrals (each with prefetched ``recipients``), for
    member ``member_id`` of ``agency_id`` in ``role``: one query of consent's and the
    member's emergency accesses' facts, whatever the batch size (none when ``facts``
    given hold them). Callers acting for a member pass ``member_id`` (see
    ``releases``)."""
    referrals = list(referrals)
    known = asker.pop("facts", None)
    facts = _facts(
        agency_id,
        referrals,
        at=asker.get("at"),
        role=asker.get("role"),
        member_id=asker.get("member_id"),
        known=known,
    )
    granted = releases(agency_id, referrals, facts=facts, **asker)
    outgoing = [r for r in referrals if granted[r.id].relation == REFERRER]
    return Decision(agency_id, granted, _backs(outgoing, facts), facts)


def decide_one(agency_id: int, referral, **asker: Unpack[Asker]) -> Decision | None:
    """The decision on one referral fetched by id (with prefetched ``recipients``), or
    ``None`` when the rule hides it from the member: the single-referral form of
    ``visible_referrals`` and ``decide`` together, in one consent query.

    ``visible_referrals`` keeps a referral exactly when ``releases`` calls it visible
    (tests/coordination/test_access.py and test_access_by_id.py hold them to it), so a
    referral read by id needs no scoped query: it is fetched, decided once, and
    refused when the decision hides it.
    """
    decision = decide(agency_id, [referral], **asker)
    return decision if decision.release(referral).visible else None
