"""The event stream as the caller's agency may see it: its own stream (written by
``coordination.outbox``), in its own numbering, filtered again by the access rule at
delivery time. Shared by ``GET /api/v1/events/`` and the WebSocket.

An agency's ``seq`` counts only events it was entitled to when they happened, so its
numbers never tell it of a change it may not see. A member's own emergency access
(break-glass) lets that member alone hear of the referral while it lasts: the agency's
stream carries those events, and delivery passes them to that member only.
Delivery asks the rule *now*: an entry it may no longer see (after a revocation) is
skipped, and ``last_seq`` moves past it — the agency once had the right to that news,
so the gap tells it nothing new.
Streams written before per-agency numbering keep the old network numbers (see
migration ``0006_agency_streams_backfill``), so an old ``seq`` resumes where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import QuerySet

from agencies.models import Membership
from coordination import access, outbox
from coordination.models import RecipientStatus, StreamEntry
from srn.prepared import prefetched, prepared

# Stream entries read per query; a long replay is several batches.
EVENT_BATCH = 500


# What the access rule needs of an entry, its event and its referral — no encrypted
# field is read.
_ENTRY_FIELDS = (
    *("agency_id", "seq", "event_id"),
    *("event__seq", "event__kind", "event__referral_id", "event__survivor_ref"),
    *("event__agency_id", "event__status", "event__at"),
    *("event__referral__id", "event__referral__referring_agency_id"),
    "event__referral__survivor_id",
)


@dataclass(frozen=True)
class StreamEvent:
    """One event as one agency's stream numbers it."""

    seq: int  # in the agency's stream
    kind: str
    referral_id: object
    survivor_ref: str
    agency_id: int | None
    status: str
    at: datetime


@dataclass(frozen=True)
class Batch:
    events: list[StreamEvent]
    last_seq: int  # the last stream seq examined: where the next read starts
    more: bool  # the batch was full; there may be more after ``last_seq``
    # Entries the agency as such may not receive now, as ``(row, event)``: only a member's
    # own emergency access can let them through (``for_member``).
    withheld: tuple = ()


def head_seq(agency_id: int) -> int:
    """The newest committed ``seq`` of the agency's stream (0 before its first)."""
    return outbox.stream_head(agency_id)


def events_after(member: Membership, after: int, *, limit: int | None = None) -> Batch:
    """The events after ``after`` in the member's agency's stream that the member may
    receive now, in ``seq`` order, examining at most ``limit`` entries (a constant
    number of queries)."""
    return for_member(member, agency_batch(member.agency_id, member.role, after, limit=limit))


def agency_batch(agency_id: int, role: str, after: int, *, limit: int | None = None) -> Batch:
    """What every member of the agency in ``role`` may receive after ``after`` (the
    rule by consent, shared by the agency's sockets), the rest ``withheld``."""
    limit = limit or EVENT_BATCH
    rows = _entries_after(agency_id=agency_id, after=after, rows=slice(0, limit))
    if not rows:
        return Batch([], after, more=False)
    _with_recipients([row.event for row in rows])
    allowed = {
        event.pk
        for event in access.deliverable_events(agency_id, [row.event for row in rows], role=role)
    }
    return Batch(
        [_shown(row) for row in rows if row.event_id in allowed],
        rows[-1].seq,
        more=len(rows) == limit,
        withheld=tuple((row.seq, row.event) for row in rows if row.event_id not in allowed),
    )


def _with_recipients(events: list) -> None:
    """Give the events' referrals (one instance per referral) their recipients, as the
    access rule needs them, in one query."""
    referrals = {event.referral_id: event.referral for event in events}
    recipients: dict = {referral_id: [] for referral_id in referrals}
    for status in _recipients_of(referral_ids=list(referrals)):
        recipients[status.referral_id].append(status)
    for referral_id, referral in referrals.items():
        prefetched(referral, "recipients", recipients[referral_id])
    for event in events:
        event.referral = referrals[event.referral_id]


# Every live delivery and every REST read of the stream asks these: compiled once
# (``srn.prepared``).
@prepared
def _entries_after(*, agency_id: int, after: int, rows: slice) -> QuerySet[StreamEntry]:
    return (
        StreamEntry.objects.filter(agency_id=agency_id, seq__gt=after)
        .order_by("seq")
        .select_related("event__referral")
        .only(*_ENTRY_FIELDS)[rows]
    )


@prepared
def _recipients_of(*, referral_ids: list) -> QuerySet[RecipientStatus]:
    return RecipientStatus.objects.filter(referral_id__in=referral_ids).only(
        "referral_id", "agency_id"
    )


def for_member(member: Membership, batch: Batch) -> Batch:
    """The agency's batch as one member may receive it: plus the withheld events the
    member's own active emergency accesses let them hear (one query, none when nothing
    was withheld), in ``seq`` order."""
    if not batch.withheld:
        return batch
    heard = {
        event.pk
        for event in access.deliverable_events(
            member.agency_id,
            [event for _, event in batch.withheld],
            role=member.role,
            member_id=member.pk,
        )
    }
    if not heard:
        return replace(batch, withheld=())
    extra = [_shown_event(seq, event) for seq, event in batch.withheld if event.pk in heard]
    events = sorted([*batch.events, *extra], key=lambda shown: shown.seq)
    return replace(batch, events=events, withheld=())


def _shown(row: StreamEntry) -> StreamEvent:
    return _shown_event(row.seq, row.event)


def _shown_event(seq: int, event) -> StreamEvent:
    return StreamEvent(
        seq=seq,
        kind=event.kind,
        referral_id=event.referral_id,
        survivor_ref=event.survivor_ref,
        agency_id=event.agency_id,
        status=event.status,
        at=event.at,
    )


def event_payload(event: StreamEvent) -> dict:
    """The wire form of an event: ids, ``ref`` and states, never PII."""
    payload = {
        "type": "event",
        "seq": event.seq,
        "kind": event.kind,
        "referral": str(event.referral_id),
        "survivor_ref": event.survivor_ref,
        "agency": event.agency_id,
        "at": event.at.isoformat().replace("+00:00", "Z"),
    }
    if event.status:
        payload["status"] = event.status
    return payload
