"""Outbox writes, each agency's stream, and the after-commit nudge to the channel layer.

``emit`` must run inside the transaction of the change it reports. It writes the event
once, then one stream entry for each agency that may hear of it at that moment (the
access rule decides), numbered in that agency's own sequence: what an agency's client
counts advances only over events it was entitled to, so its numbers reveal nothing
it may not see. The channel-layer message only says "your stream grew to N":
consumers read their stream from their last ``seq`` (channel layers deliver at most
once and may drop), and delivery asks the access rule again.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from coordination import access
from coordination.models import (
    Event,
    EventCounter,
    RecipientStatus,
    Referral,
    StreamCounter,
    StreamEntry,
)

logger = logging.getLogger(__name__)


def stream_group(agency_id: int) -> str:
    """The channel-layer group of one agency's sockets."""
    return f"events.{agency_id}"


def emit(*, kind: str, referral, agency_id: int | None = None, status: str = "") -> Event:
    """Write the event and its stream entries; nudge the agencies' sockets after commit.

    The access decisions (a few reads) come first; then the counters are locked — the
    network counter first, the agencies' in id order — so that concurrent appends
    serialise for the least time and can never deadlock each other."""
    event = Event(
        kind=kind,
        referral=referral,
        survivor_ref=referral.survivor.ref,
        agency_id=agency_id,
        status=status,
        at=timezone.now(),
    )
    hearers = _hearers(event)
    event.seq = _next_network_seq()
    event.save(force_insert=True)
    grown = _append(event, hearers)
    if grown:
        transaction.on_commit(lambda: publish(grown))
    return event


def _hearers(event: Event) -> list[int]:
    """The agencies that may hear of ``event`` now, in id order: the candidates
    ``access.event_audience`` names, each asked of ``access.deliverable_events``."""
    referral = (
        Referral.objects.only("id", "referring_agency_id", "survivor_id")
        .prefetch_related(
            Prefetch(
                "recipients", queryset=RecipientStatus.objects.only("referral_id", "agency_id")
            )
        )
        .get(pk=event.referral_id)
    )
    # A probe on the freshly read referral: the caller's instance may hold stale recipients.
    probe = Event(
        kind=event.kind, referral=referral, agency_id=event.agency_id, status=event.status
    )
    audience = access.event_audience(probe, referral.referring_agency_id)
    if audience is None:
        audience = {referral.referring_agency_id, *(r.agency_id for r in referral.recipients.all())}
    candidates = sorted(a for a in audience if a is not None)
    # Any member: an agency one of whose members holds an emergency access hears of the
    # event too; delivery then tells only that member (``event_stream.for_member``).
    return [
        a for a in candidates if access.deliverable_events(a, [probe], member_id=access.ANY_MEMBER)
    ]


def _next_network_seq() -> int:
    """The outbox row's number (network-wide; never shown to a client)."""
    counter = EventCounter.objects.select_for_update().filter(pk=1).first()
    if counter is None:
        EventCounter.objects.get_or_create(pk=1, defaults={"seq": 0})
        counter = EventCounter.objects.select_for_update().get(pk=1)
    counter.seq += 1
    counter.save(update_fields=["seq"])
    return counter.seq


def _append(event: Event, hearers: list[int]) -> dict[int, int]:
    """Append ``event`` to each hearer's stream; ``{agency id: its new seq}``."""
    if not hearers:
        return {}
    locked = _lock_counters(hearers)
    missing = [a for a in hearers if a not in locked]
    if missing:
        StreamCounter.objects.bulk_create(
            [StreamCounter(agency_id=a) for a in missing], ignore_conflicts=True
        )
        locked = _lock_counters(hearers)
    StreamCounter.objects.filter(agency_id__in=hearers).update(seq=F("seq") + 1)
    grown = {agency: seq + 1 for agency, seq in locked.items()}
    StreamEntry.objects.bulk_create(
        StreamEntry(agency_id=agency, seq=seq, event=event) for agency, seq in grown.items()
    )
    return grown


def _lock_counters(agencies: list[int]) -> dict[int, int]:
    rows = (
        StreamCounter.objects.select_for_update()
        .filter(agency_id__in=agencies)
        .order_by("agency_id")
        .values_list("agency_id", "seq")
    )
    return dict(rows)


def publish(grown: dict[int, int]) -> None:
    """Nudge each agency's live sockets; losing this loses nothing (they read their
    stream). It carries only the agency's own new ``seq``, never the event."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(_nudge)(layer, grown)


async def _nudge(layer, grown: dict[int, int]) -> None:
    for agency_id, seq in grown.items():
        try:
            await layer.group_send(stream_group(agency_id), {"type": "events.changed", "seq": seq})
        except Exception:  # the stream is the delivery; a failed nudge is only latency
            logger.warning("event nudge for agency %s not published", agency_id, exc_info=True)
