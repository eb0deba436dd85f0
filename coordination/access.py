"""THE access rule. Everything that discloses referral or survivor data asks this module.

A member of agency A may see field F of referral R iff
* A is R's referring agency, or
* A is a recipient of R and an active consent (valid now, not revoked, not expired)
  for R's survivor names A and F's category.

The way back is consented too: the referrer sees a recipient's status beyond
``requested`` only under that recipient's ``status_updates``, and its case notes only
under ``case_notes``.

Within an agency, each side has its role (DESIGN.md, Users and roles): liaisons handle
the agency's outgoing referrals, caseworkers its incoming ones. Given the member's
``role``, every function here shows a member only their side.

It is composed from consent's facts (``consent.grants``) and decided once per request:
``decide`` returns a ``Decision`` that the presenter, the ETag, the notes, the audit
entry and the event stream all read. Nothing here writes; selectors audit the decision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When

from agencies.errors import InvalidInput
from agencies.models import Role
from consent import grants
from consent.categories import FIELD_CATEGORY, RECIPIENT_CATEGORIES, Category
from coordination import states
from coordination.models import Event, RecipientStatus

REFERRER = "referrer"
RECIPIENT = "recipient"
NONE = "none"


@dataclass(frozen=True)
class Release:
    """What one agency may see of one referral, and under which consents."""

    relation: str
    categories: frozenset[str] = frozenset()
    consent_ids: tuple[str, ...] = ()

    @property
    def visible(self) -> bool:
        return self.relation != NONE

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


def releases(
    agency_id: int, referrals: Iterable, *, at: datetime | None = None, role: str | None = None
) -> dict:
    """``{referral.id: Release}`` for a batch, in one query; with ``role``, only the
    side that role handles is visible.

    ``referrals`` must carry ``referring_agency_id``, ``survivor_id`` and their
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
    result = {}
    for referral in referrals:
        if referral.referring_agency_id == agency_id:
            result[referral.id] = Release(REFERRER, frozenset(RECIPIENT_CATEGORIES))
        elif agency_id in _recipient_ids(referral) and referral.survivor_id in granted:
            grant = granted[referral.survivor_id]
            result[referral.id] = Release(
                RECIPIENT,
                frozenset(grant.categories) & RECIPIENT_CATEGORIES,
                tuple(sorted(grant.consent_ids)),
            )
        else:
            result[referral.id] = HIDDEN
        result[referral.id] = _on_side(result[referral.id], role)
    return result


def release(
    agency_id: int, referral, *, at: datetime | None = None, role: str | None = None
) -> Release:
    return releases(agency_id, [referral], at=at, role=role)[referral.id]


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


def status_seen_by_referrer(status: str, back: BackRelease | None) -> str:
    """Beyond ``requested`` the referrer sees a recipient's status only under
    ``status_updates``; otherwise it reads ``requested`` (released, nothing more)."""
    if status in ALWAYS_VISIBLE_STATUSES or (back is not None and back.status_updates):
        return status
    return states.REQUESTED


# --- querysets ------------------------------------------------------------------------


def visible_referrals(
    referrals: QuerySet, agency_id: int, *, at: datetime | None = None, role: str | None = None
) -> QuerySet:
    """Narrow a ``Referral`` queryset to exactly what ``release`` calls visible (with
    ``role``, on that role's side only).

    Uses ``Exists`` subqueries, so each referral appears once.
    """
    is_recipient = RecipientStatus.objects.filter(referral_id=OuterRef("pk"), agency_id=agency_id)
    covered = grants.granted_to(agency_id, survivor=OuterRef("survivor_id"), at=grants.moment(at))
    as_referrer = Q(referring_agency_id=agency_id)
    as_recipient = ~as_referrer & Exists(is_recipient) & Exists(covered)
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
    """What one agency may see of a set of referrals, decided once for a request.

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


def decide(
    agency_id: int, referrals: Iterable, *, at: datetime | None = None, role: str | None = None
) -> Decision:
    """The decision for a batch of referrals (each with prefetched ``recipients``), for
    a member of ``agency_id`` in ``role``: one query for the releases, one for the
    referrer's back-releases, whatever the batch size."""
    referrals = list(referrals)
    granted = releases(agency_id, referrals, at=at, role=role)
    outgoing = [r for r in referrals if granted[r.id].relation == REFERRER]
    return Decision(agency_id, granted, back_releases_many(outgoing, at=at))


def decide_one(
    agency_id: int, referral, *, at: datetime | None = None, role: str | None = None
) -> Decision | None:
    """The decision on one referral fetched by id (with prefetched ``recipients``), or
    ``None`` when the rule hides it. ``visible_referrals`` keeps exactly what ``releases``
    calls visible (tests/coordination/test_access*.py hold them to it), so a referral
    read by id needs no scoped query: it is fetched, decided once, refused if hidden."""
    decision = decide(agency_id, [referral], at=at, role=role)
    return decision if decision.release(referral).visible else None


# --- live events ------------------------------------------------------------------------


def event_deliverable(
    agency_id: int,
    event,
    release_: Release,
    back: dict[int, BackRelease] | None,
    *,
    recipient_side: bool = True,
) -> bool:
    """May agency A be told about this outbox event *now*?

    ``event`` carries ``kind``, ``agency_id`` (the recipient the change concerns, or a
    note's author agency) and ``status``. ``release_`` is A's release of the event's
    referral now; ``back`` its back-releases (needed only for the referrer).

    * A recipient hears about its own status and notes while it may see the referral,
      plus the referrer's notes under ``narrative``; and always its own
      ``consent.revoked`` — the last thing it hears about the referral.
    * The referrer hears every recipient's status it may see unmasked (see
      ``status_seen_by_referrer``: a masked change is not announced at all) and a
      recipient's notes under ``case_notes``. These are ``Decision.notes_shown`` and
      ``Decision.recipients_shown``, applied to one event.

    ``recipient_side`` is false for a member whose role does not handle incoming
    referrals (a liaison): they hear nothing of the agency's incoming ones.
    """
    if release_.relation == REFERRER:
        about = (back or {}).get(event.agency_id)
        if event.kind == Event.NOTE_ADDED:
            return event.agency_id == agency_id or (about is not None and about.case_notes)
        return status_seen_by_referrer(event.status, about) == event.status
    if event.kind == Event.CONSENT_REVOKED and event.agency_id == agency_id:
        return recipient_side
    if release_.relation != RECIPIENT:
        return False
    if event.agency_id == agency_id:
        return True
    return (
        event.kind == Event.NOTE_ADDED
        and event.agency_id == event.referral.referring_agency_id
        and Category.NARRATIVE in release_.categories
    )


def event_audience(event, referring_agency_id: int) -> frozenset[int] | None:
    """Every agency that could ever receive this event, or ``None`` for "any
    recipient of the referral" (a referrer's note). Lets a socket skip, without a
    query, an event that ``event_deliverable`` would refuse it anyway."""
    if event.kind == Event.NOTE_ADDED and event.agency_id == referring_agency_id:
        return None
    return frozenset({referring_agency_id, event.agency_id})


def deliverable_events(
    agency_id: int, events: Iterable, *, at: datetime | None = None, role: str | None = None
) -> list:
    """The events (in the order given) agency A (a member in ``role``) may receive now,
    deciding a whole batch in a constant number of queries. Each event's ``referral``
    must carry its recipients (prefetched) — see ``releases``."""
    events = list(events)
    referrals = {event.referral_id: event.referral for event in events}
    decision = decide(agency_id, referrals.values(), at=at, role=role)
    recipient_side = role is None or SIDE_OF_ROLE.get(role) == RECIPIENT
    return [
        event
        for event in events
        if event_deliverable(
            agency_id,
            event,
            decision.releases[event.referral_id],
            decision.backs.get(event.referral_id),
            recipient_side=recipient_side,
        )
    ]


def back_releases(referral, *, at: datetime | None = None) -> dict[int, BackRelease]:
    return back_releases_many([referral], at=at).get(referral.id, {})


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
