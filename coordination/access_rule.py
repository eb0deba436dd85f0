"""The rule itself: releases, scoped querysets and the one ``Decision`` per request
(see ``coordination.access``, the module everything imports, for the rule in words)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict, Unpack

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When

from agencies.errors import InvalidInput
from agencies.models import Role
from consent import grants
from consent.categories import FIELD_CATEGORY, RECIPIENT_CATEGORIES, Category
from coordination import emergency, states
from coordination.emergency import EmergencyGrant
from coordination.models import RecipientStatus

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


def _handles_incoming(role: str | None) -> bool:
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
    by default), the member's ``role`` and their ``member_id`` (see ``releases``, whose
    explicit signature the others pass these on to, so a misspelt one is refused)."""

    at: datetime | None
    role: str | None
    member_id: int | str | None


def releases(
    agency_id: int,
    referrals: Iterable,
    *,
    at: datetime | None = None,
    role: str | None = None,
    member_id: int | str | None = None,
) -> dict:
    """``{referral.id: Release}`` for a batch, in one query for consent and one for
    emergency access; with ``role``, only the side that role handles is visible.

    ``member_id`` is the requesting member (a ``Membership`` id): their own active
    emergency accesses add to what consent releases to the agency. ``None`` decides for
    the agency by consent alone; ``ANY_MEMBER`` counts every member's accesses (whether
    the agency's stream may carry an event at all).

    ``referrals`` must carry ``id``, ``referring_agency_id``, ``survivor_id`` and their
    recipient agency ids (``recipient_agency_ids``) or prefetched ``recipients``.
    """
    moment = grants.moment(at)
    referrals = list(referrals)
    received = [
        r
        for r in referrals
        if r.referring_agency_id != agency_id and agency_id in _recipient_ids(r)
    ]
    granted = grants.grants_to(agency_id, (r.survivor_id for r in received), at=moment)
    opened = emergency.grants_to(
        agency_id,
        member_id if _handles_incoming(role) else None,
        (r.id for r in received),
        at=moment,
    )
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


def release(agency_id: int, referral, **asker: Unpack[Asker]) -> Release:
    return releases(agency_id, [referral], **asker)[referral.id]


def back_releases_many(referrals: Iterable, *, at: datetime | None = None) -> dict:
    """``{referral.id: {recipient agency id: BackRelease}}`` in one query: what each
    referral's referrer may learn back from each recipient."""
    referrals = list(referrals)
    if not referrals:
        return {}
    found = grants.grants_by_agency({r.survivor_id for r in referrals}, at=grants.moment(at))
    return {
        referral.id: {
            agency_id: BackRelease(
                status_updates=Category.STATUS_UPDATES in grant.categories,
                case_notes=Category.CASE_NOTES in grant.categories,
                consent_ids=tuple(sorted(grant.consent_ids)),
            )
            for agency_id, grant in found.get(referral.survivor_id, {}).items()
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


# --- querysets ------------------------------------------------------------------------


def visible_referrals(
    referrals: QuerySet,
    agency_id: int,
    *,
    at: datetime | None = None,
    role: str | None = None,
    member_id: int | None = None,
) -> QuerySet:
    """Narrow a ``Referral`` queryset to exactly what ``release`` calls visible (with
    ``role``, on that role's side only; with ``member_id``, the member's emergency
    accesses included).

    Uses ``Exists`` subqueries, so each referral appears once.
    """
    moment = grants.moment(at)
    is_recipient = RecipientStatus.objects.filter(referral_id=OuterRef("pk"), agency_id=agency_id)
    covered = Exists(grants.granted_to(agency_id, survivor=OuterRef("survivor_id"), at=moment))
    if member_id is not None and _handles_incoming(role) and emergency.enabled():
        opened = emergency.granted_to(agency_id, member_id, referral=OuterRef("pk"), at=moment)
        covered = covered | Exists(opened)
    as_referrer = Q(referring_agency_id=agency_id)
    as_recipient = ~as_referrer & Exists(is_recipient) & covered
    side = SIDE_OF_ROLE.get(role) if role is not None else None
    if role is None:
        return referrals.filter(as_referrer | as_recipient)
    if side == REFERRER:
        return referrals.filter(as_referrer)
    if side == RECIPIENT:
        return referrals.filter(as_recipient)
    return referrals.none()


def in_direction(referrals: QuerySet, agency_id: int, direction: str) -> QuerySet:
    """Visible referrals narrowed to the agency's ``outgoing`` or ``incoming`` ones."""
    if direction == OUTGOING:
        return referrals.filter(referring_agency_id=agency_id)
    return referrals.exclude(referring_agency_id=agency_id)


def with_status(referrals: QuerySet, agency_id: int, status: str, *, direction: str = ""):
    """Visible referrals narrowed to those whose status, *as the agency sees it*, is
    ``status``: its own recipient status, or on its outgoing referrals a status the
    referrer always sees unmasked. Filtering outgoing referrals by a status that
    consent may mask would reveal it, so that is refused."""
    in_status = RecipientStatus.objects.filter(referral_id=OuterRef("pk"), status=status)
    own = in_status.filter(agency_id=agency_id)
    if status in REFERRER_FILTERABLE_STATUSES:
        mine = in_status.filter(referral__referring_agency_id=agency_id)
        return referrals.filter(Exists(own) | Exists(mine))
    if direction == OUTGOING:
        raise InvalidInput(fields={"status": [REFERRER_FILTER_REFUSED]})
    return referrals.filter(Exists(own))


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
    member ``member_id`` of ``agency_id`` in ``role``: a query each for consent, the
    member's emergency accesses and the referrer's back-releases, whatever the batch
    size. Callers acting for a member pass ``member_id`` (see ``releases``)."""
    referrals = list(referrals)
    granted = releases(agency_id, referrals, **asker)
    outgoing = [r for r in referrals if granted[r.id].relation == REFERRER]
    return Decision(agency_id, granted, back_releases_many(outgoing, at=asker.get("at")))


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


def report_statuses(statuses: QuerySet, agency_id: int | None, *, at=None) -> QuerySet:
    """What an agency's de-identified report counts (``None``: the network's, all): its own
    statuses on referrals it may see; its outgoing referrals' as the referrer sees them."""
    if agency_id is None:
        return statuses.annotate(seen_status=F("status"), seen_accepted_at=F("accepted_at"))
    survivor, moment = OuterRef("referral__survivor_id"), grants.moment(at)
    outgoing, updates = Q(referral__referring_agency_id=agency_id), Category.STATUS_UPDATES
    covered = grants.granted_to(agency_id, survivor=survivor, at=moment)
    told = grants.granted_to(OuterRef("agency_id"), survivor=survivor, at=moment, category=updates)
    shown = ~outgoing | Q(status__in=ALWAYS_VISIBLE_STATUSES) | Exists(told)
    return statuses.filter(outgoing | Q(agency_id=agency_id) & Exists(covered)).annotate(
        seen_status=Case(When(shown, then=F("status")), default=Value(states.REQUESTED)),
        seen_accepted_at=Case(When(shown, then=F("accepted_at"))),
    )
