"""The event stream as the caller's agency may see it: outbox reads filtered by the
access rule at delivery time. Shared by ``GET /api/v1/events/`` and the WebSocket."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from agencies.models import Membership
from coordination import access
from coordination.models import Event, EventCounter, RecipientStatus

# Outbox rows read per query; a long replay is several batches.
EVENT_BATCH = 500


# What the access rule needs of an event and its referral — no encrypted field is read.
_EVENT_FIELDS = (
    *("seq", "kind", "referral_id", "survivor_ref", "agency_id", "status", "at"),
    *("referral__id", "referral__referring_agency_id", "referral__survivor_id"),
)


@dataclass(frozen=True)
class Batch:
    events: list[Event]
    last_seq: int  # the last outbox seq examined: where the next read starts
    more: bool  # the batch was full; there may be more after ``last_seq``


def head_seq() -> int:
    """The newest committed ``seq`` (0 before the first event)."""
    return EventCounter.objects.filter(pk=1).values_list("seq", flat=True).first() or 0


def events_after(member: Membership, after: int, *, limit: int | None = None) -> Batch:
    """The events after ``after`` that the member's agency may receive now, in ``seq``
    order, examining at most ``limit`` outbox rows (a constant number of queries)."""
    limit = limit or EVENT_BATCH
    rows = list(
        Event.objects.filter(seq__gt=after)
        .order_by("seq")
        .select_related("referral")
        .only(*_EVENT_FIELDS)
        .prefetch_related(
            Prefetch(
                "referral__recipients",
                queryset=RecipientStatus.objects.only("referral_id", "agency_id"),
            )
        )[:limit]
    )
    if not rows:
        return Batch([], after, more=False)
    return Batch(
        access.deliverable_events(member.agency_id, rows, role=member.role),
        rows[-1].seq,
        more=len(rows) == limit,
    )


def event_payload(event: Event) -> dict:
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
