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

import asyncio
import logging
import os

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.models import Prefetch
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

    The access decisions (a few reads) come first; then the counters are bumped — the
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
    ``access.event_audience`` names, each asked of ``access.deliverable_events``.

    A referral's recipients are fixed when it is created (only their statuses move),
    so the caller's referral serves as it is when its recipients are prefetched."""
    probe = event
    if "recipients" not in getattr(event.referral, "_prefetched_objects_cache", {}):
        referral = (
            Referral.objects.only("id", "referring_agency_id", "survivor_id")
            .prefetch_related(
                Prefetch(
                    "recipients",
                    queryset=RecipientStatus.objects.only("referral_id", "agency_id"),
                )
            )
            .get(pk=event.referral_id)
        )
        probe = Event(
            kind=event.kind, referral=referral, agency_id=event.agency_id, status=event.status
        )
    referral = probe.referral
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
    """The outbox row's number (network-wide; never shown to a client): the counter row
    bumped and read in one statement, which holds its lock until the commit."""
    table = connection.ops.quote_name(EventCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET seq = seq + 1 WHERE id = 1 RETURNING seq")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        EventCounter.objects.get_or_create(pk=1, defaults={"seq": 0})
        return _next_network_seq()
    return row[0]


def _append(event: Event, hearers: list[int]) -> dict[int, int]:
    """Append ``event`` to each hearer's stream; ``{agency id: its new seq}``."""
    if not hearers:
        return {}
    grown = _bump_counters(hearers)
    missing = [a for a in hearers if a not in grown]
    if missing:
        StreamCounter.objects.bulk_create(
            [StreamCounter(agency_id=a) for a in missing], ignore_conflicts=True
        )
        grown.update(_bump_counters(missing))
    grown = dict(sorted(grown.items()))
    StreamEntry.objects.bulk_create(
        StreamEntry(agency_id=agency, seq=seq, event=event) for agency, seq in grown.items()
    )
    return grown


def _bump_counters(agencies: list[int]) -> dict[int, int]:
    """Bump the agencies' existing stream counters in one statement; ``{agency: new
    seq}``. Where rows can be locked (PostgreSQL), they are locked in agency order
    first, so that concurrent appends never deadlock each other; SQLite runs one
    writer at a time."""
    table = connection.ops.quote_name(StreamCounter._meta.db_table)
    listed = ", ".join(["%s"] * len(agencies))
    chosen = f"agency_id IN ({listed})"
    if connection.features.has_select_for_update:
        chosen = (
            f"agency_id IN (SELECT agency_id FROM {table} WHERE {chosen} "  # noqa: S608
            "ORDER BY agency_id FOR UPDATE)"
        )
    sql = f"UPDATE {table} SET seq = seq + 1 WHERE {chosen} RETURNING agency_id, seq"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, list(agencies))
        return dict(cursor.fetchall())


def publish(grown: dict[int, int]) -> None:
    """Nudge each agency's live sockets; losing this loses nothing (they read their
    stream). It carries only the agency's own new ``seq``, never the event.

    Under the ASGI server the nudge is handed to the server's event loop (where the
    channel layer lives) and the request answers at once, without waiting for it."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _serving_loop()
    if loop is not None:
        asyncio.run_coroutine_threadsafe(_nudge(layer, grown), loop)
    else:
        async_to_sync(_nudge)(layer, grown)


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop of the ASGI server this sync thread serves, if any (where
    ``async_to_sync`` would run the nudge and wait for it)."""
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


async def _nudge(layer, grown: dict[int, int]) -> None:
    for agency_id, seq in grown.items():
        try:
            await layer.group_send(stream_group(agency_id), {"type": "events.changed", "seq": seq})
        except Exception:  # the stream is the delivery; a failed nudge is only latency
            logger.warning("event nudge for agency %s not published", agency_id, exc_info=True)
