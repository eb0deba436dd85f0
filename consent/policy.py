"""THE access rule. Everything that discloses survivor data asks this module.

A member of agency A may see field F of referral R iff
* A is R's referring agency, or
* A is a recipient of R and an active consent (valid now, not revoked, not expired)
  for R's survivor names A and F's category.

The way back is consented too: the referrer sees a recipient's status beyond
``requested`` only under that recipient's ``status_updates``, and its case notes only
under ``case_notes``.

Nothing here writes; callers audit the decision (``coordination.selectors``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from consent.categories import (
    FIELD_CATEGORY,
    RECIPIENT_CATEGORIES,
    Category,
)
from consent.models import Consent

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


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def active_consents(*, at: datetime | None = None) -> QuerySet[Consent]:
    return Consent.objects.active_at(_now(at))


def _recipient_grants(
    agency_id: int, survivor_ids: Iterable, at: datetime
) -> dict[object, tuple[set[str], list[str]]]:
    grants: dict[object, tuple[set[str], list[str]]] = defaultdict(lambda: (set(), []))
    rows = (
        active_consents(at=at)
        .filter(survivor_id__in=set(survivor_ids), recipients=agency_id)
        .values_list("survivor_id", "id", "categories")
    )
    for survivor_id, consent_id, categories in rows:
        cats, ids = grants[survivor_id]
        cats.update(categories)
        ids.append(str(consent_id))
    return grants


def releases(agency_id: int, referrals: Iterable, *, at: datetime | None = None) -> dict:
    """``{referral.id: Release}`` for a batch, in one query (list pages use this).

    ``referrals`` must carry ``referring_agency_id``, ``survivor_id`` and their
    recipient agency ids (``recipient_agency_ids``) or prefetched ``recipients``.
    """
    moment = _now(at)
    referrals = list(referrals)
    received = [
        r
        for r in referrals
        if r.referring_agency_id != agency_id and agency_id in _recipient_ids(r)
    ]
    grants = _recipient_grants(agency_id, (r.survivor_id for r in received), moment)
    result = {}
    for referral in referrals:
        if referral.referring_agency_id == agency_id:
            result[referral.id] = Release(REFERRER, frozenset(RECIPIENT_CATEGORIES))
            continue
        if agency_id not in _recipient_ids(referral) or referral.survivor_id not in grants:
            result[referral.id] = HIDDEN
            continue
        categories, consent_ids = grants[referral.survivor_id]
        result[referral.id] = Release(
            RECIPIENT,
            frozenset(categories) & RECIPIENT_CATEGORIES,
            tuple(sorted(consent_ids)),
        )
    return result


def release(agency_id: int, referral, *, at: datetime | None = None) -> Release:
    return releases(agency_id, [referral], at=at)[referral.id]


def back_releases_many(referrals: Iterable, *, at: datetime | None = None) -> dict:
    """``{referral.id: {recipient agency id: BackRelease}}`` in one query: what each
    referral's referrer may learn back from each recipient."""
    moment = _now(at)
    referrals = list(referrals)
    found: dict = defaultdict(lambda: defaultdict(lambda: (set(), [])))
    rows = (
        active_consents(at=moment)
        .filter(survivor_id__in={r.survivor_id for r in referrals})
        .values_list("survivor_id", "id", "categories", "recipients")
    )
    for survivor_id, consent_id, categories, recipient_id in rows:
        cats, ids = found[survivor_id][recipient_id]
        cats.update(categories)
        ids.append(str(consent_id))
    return {
        referral.id: {
            recipient_id: BackRelease(
                status_updates=Category.STATUS_UPDATES in cats,
                case_notes=Category.CASE_NOTES in cats,
                consent_ids=tuple(sorted(ids)),
            )
            for recipient_id, (cats, ids) in found[referral.survivor_id].items()
        }
        for referral in referrals
    }


def back_releases(referral, *, at: datetime | None = None) -> dict[int, BackRelease]:
    return back_releases_many([referral], at=at)[referral.id]


# Statuses the referrer always sees as they are: its own acts and the consent's state.
ALWAYS_VISIBLE_STATUSES = frozenset(
    {"awaiting_consent", "requested", "cancelled", "consent_revoked"}
)


# Statuses a referrer may filter its outgoing referrals by. Not "requested": masked
# statuses read as "requested", so filtering on the true one would tell them apart.
REFERRER_FILTERABLE_STATUSES = frozenset({"awaiting_consent", "cancelled", "consent_revoked"})


def status_seen_by_referrer(status: str, back: BackRelease | None) -> str:
    """Beyond ``requested`` the referrer sees a recipient's status only under
    ``status_updates``; otherwise it reads ``requested`` (released, nothing more)."""
    if status in ALWAYS_VISIBLE_STATUSES or (back is not None and back.status_updates):
        return status
    return "requested"


def visible_referrals(
    referrals: QuerySet, agency_id: int, *, at: datetime | None = None
) -> QuerySet:
    """Narrow a ``Referral`` queryset to exactly what ``release`` calls visible.

    Uses ``Exists`` subqueries, so each referral appears once.
    """
    moment = _now(at)
    recipient_status = referrals.model._meta.get_field("recipients").related_model
    is_recipient = recipient_status.objects.filter(referral_id=OuterRef("pk"), agency_id=agency_id)
    covered = active_consents(at=moment).filter(
        survivor_id=OuterRef("survivor_id"), recipients=agency_id
    )
    return referrals.filter(
        Q(referring_agency_id=agency_id) | (Exists(is_recipient) & Exists(covered))
    )


def _recipient_ids(referral) -> set[int]:
    ids = getattr(referral, "recipient_agency_ids", None)
    if ids is None:
        ids = {status.agency_id for status in referral.recipients.all()}
    return set(ids)


# --- live events ----------------------------------------------------------------------

REVOKED_KIND = "consent.revoked"
NOTE_KIND = "note.added"


def event_deliverable(
    agency_id: int, event, release_: Release, back: dict[int, BackRelease] | None
) -> bool:
    """May agency A be told about this outbox event *now*?

    ``event`` carries ``kind``, ``agency_id`` (the recipient the change concerns, or a
    note's author agency) and ``status``. ``release_`` is ``release(A, event.referral)``
    now; ``back`` is ``back_releases(event.referral)`` (needed only for the referrer).

    * A recipient hears about its own status and notes while it may see the referral,
      plus the referrer's notes under ``narrative``; and always its own
      ``consent.revoked`` — the last thing it hears about the referral.
    * The referrer hears every recipient's status it may see unmasked (see
      ``status_seen_by_referrer``: a masked change is not announced at all) and a
      recipient's notes under ``case_notes``.
    """
    if release_.relation == REFERRER:
        about = (back or {}).get(event.agency_id)
        if event.kind == NOTE_KIND:
            return event.agency_id == agency_id or (about is not None and about.case_notes)
        return status_seen_by_referrer(event.status, about) == event.status
    if event.kind == REVOKED_KIND and event.agency_id == agency_id:
        return True
    if release_.relation != RECIPIENT:
        return False
    if event.agency_id == agency_id:
        return True
    referral = event.referral
    return (
        event.kind == NOTE_KIND
        and event.agency_id == referral.referring_agency_id
        and Category.NARRATIVE in release_.categories
    )


def event_audience(event, referring_agency_id: int) -> frozenset[int] | None:
    """Every agency that could ever receive this event, or ``None`` for "any
    recipient of the referral" (a referrer's note). Lets a socket skip, without a
    query, an event that ``event_deliverable`` would refuse it anyway."""
    if event.kind == NOTE_KIND and event.agency_id == referring_agency_id:
        return None
    return frozenset({referring_agency_id, event.agency_id})


def deliverable_events(agency_id: int, events: Iterable, *, at: datetime | None = None) -> list:
    """The events (in the order given) agency A may receive now, deciding a whole batch
    in a constant number of queries. Each event's ``referral`` must carry its
    recipients (prefetched) — see ``release``."""
    moment = _now(at)
    events = list(events)
    referrals = {event.referral_id: event.referral for event in events}
    granted = releases(agency_id, referrals.values(), at=moment)
    own = [r for r in referrals.values() if granted[r.id].relation == REFERRER]
    backs = back_releases_many(own, at=moment) if own else {}
    return [
        event
        for event in events
        if event_deliverable(
            agency_id, event, granted[event.referral_id], backs.get(event.referral_id)
        )
    ]
