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
from dataclasses import dataclass

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.models import Prefetch, signals
from django.utils import timezone

from coordination import access
from coordination.models import (
    Event,
    RecipientStatus,
    Referral,
    StreamCounter,
    StreamEntry,
)
from srn import prepared

logger = logging.getLogger(__name__)


def stream_group(agency_id: int) -> str:
    """The channel-layer group of one agency's sockets."""
    return f"events.{agency_id}"


def emit(
    *,
    kind: str,
    referral,
    agency_id: int | None = None,
    status: str = "",
    decided: access.Decision | None = None,
    carried: Carried | None = None,
) -> Event | None:
    """Write the event and its stream entries; nudge the agencies' sockets after commit.

    ``decided`` is the acting member's decision on ``referral`` in this transaction, if
    the caller has one: it answers for the member's own agency where it lets that agency
    hear of the event (see ``_told``). The access decisions (reads) come first, then the
    event row (numbered by the database) and the streams' entries (``_append``: where
    rows are locked, the agencies' counters in id order, in the event's own statement),
    so that concurrent appends serialise for the least time and can never deadlock each
    other.

    ``carried``: the change itself, written first and in the same statement where the
    database allows it (see ``Carried``); if its guard matches no row, nothing is
    written and the answer is None."""
    event = Event(
        kind=kind,
        referral=referral,
        survivor_ref=referral.survivor.ref,
        agency_id=agency_id,
        status=status,
        at=timezone.now(),
    )
    hearers = _hearers(event, decided)
    grown = _append(event, hearers, carried)
    if grown is None:
        return None
    if grown:
        transaction.on_commit(lambda: publish(grown))
    return event


def _hearers(event: Event, decided: access.Decision | None = None) -> list[int]:
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
    return [a for a in candidates if _told(a, probe, decided)]


def _told(agency_id: int, event: Event, decided: access.Decision | None) -> bool:
    """May the agency hear of ``event``, any of its members (``ANY_MEMBER``)?

    The acting member's own decision answers "yes" for their agency without asking
    again: what one member of an agency may see, the agency with any member's
    emergency accesses may see too (the same consents; a member's accesses are among
    all members'), so an event deliverable under the member's release is deliverable
    under the agency's. A "no" is not conclusive (another member's access may open
    more): then, and for every other agency, the rule is asked, on the facts the
    member's decision was made on where they hold what it needs (the referrer's
    back-releases do: consent's facts name every agency)."""
    referral_id = event.referral_id
    if (
        decided is not None
        and decided.agency_id == agency_id
        and referral_id in decided.releases
        and access.event_deliverable(
            agency_id, event, decided.releases[referral_id], decided.backs.get(referral_id)
        )
    ):
        return True
    facts = decided.facts if decided is not None else None
    return bool(
        access.deliverable_events(agency_id, [event], member_id=access.ANY_MEMBER, facts=facts)
    )


@dataclass(frozen=True)
class Carried:
    """A change the event's own statement carries (``emit``): ``rows``, unsaved
    instances inserted with the event, and an optional ``guard``, an UPDATE (SQL and
    parameters, as the ORM compiles it) that must match a row for anything to be
    written. On PostgreSQL they are data-modifying ``WITH`` clauses of the event's
    statement (one round trip; the rows and the event selected from the guard's row, so
    a guard that matches nothing writes nothing). Elsewhere they run first, apart. Each
    row gets its primary key and the ``pre_save`` / ``post_save`` signals ``save()``
    sends (django-auditlog logs it)."""

    rows: tuple = ()
    guard: tuple[str, list] | None = None

    def run_apart(self) -> bool:
        """Run the guard and insert the rows; False (nothing written) if it matched none."""
        if self.guard is not None:
            with connection.cursor() as cursor:
                cursor.execute(*self.guard)
                if cursor.rowcount == 0:
                    return False
        for row in self.rows:
            prepared.insert(row)
        return True


def _append(event: Event, hearers: list[int], carried: Carried | None = None) -> dict | None:
    """Write ``event`` and append it to each hearer's stream; ``{agency id: its new seq}``
    in agency order (None: ``carried``'s guard matched no row, nothing written).

    Where rows can be locked (PostgreSQL) the agencies' counters are locked in agency
    order and bumped, and the entries written from them, in the event's own INSERT (one
    statement, a data-modifying ``WITH``), so that concurrent appends never deadlock each
    other and each stream numbers its entries in commit order (a missing counter is
    created first, then its entry written). SQLite runs one writer at a time and
    already holds the write lock here: the event is inserted, then each entry takes the
    next number after its stream's head (``stream_head``) straight from the index on
    ``(agency, seq)`` (stream entries are never deleted, so a number is never given
    twice), in one statement."""
    if not connection.features.has_select_for_update or (not hearers and carried is None):
        if carried is not None and not carried.run_apart():
            return None
        prepared.insert(event)
        if not hearers:
            return {}
        return dict(sorted(_written(_NUMBERED_FROM_HEAD, event, hearers).items()))
    grown = _inserted_and_written(event, hearers, carried)
    if grown is None:
        return None
    missing = [a for a in hearers if a not in grown]
    if missing:
        StreamCounter.objects.bulk_create(
            [StreamCounter(agency_id=a) for a in missing], ignore_conflicts=True
        )
        grown.update(_written(_NUMBERED_FROM_COUNTER, event, missing))
    return dict(sorted(grown.items()))


def _inserted_and_written(
    event: Event, hearers: list[int], carried: Carried | None
) -> dict[int, int] | None:
    """PostgreSQL: ``carried``'s writes, the event's INSERT (as the ORM compiles it) and
    the entries of the hearers whose counters exist, as one statement; ``event`` (and
    each carried row) gets its number. None if a guard matched no row."""
    rows = list(carried.rows) if carried is not None else []
    for row in rows:
        prepared.save_signal(signals.pre_save, row, connection.alias)
    clauses, params, source = [], [], ""
    if carried is not None and carried.guard is not None:
        source = "guard"
        clauses.append(f"guard AS ({carried.guard[0]} RETURNING 1)")
        params += carried.guard[1]
    for n, instance in enumerate([*rows, event]):
        sql, values = prepared.insert_of(instance, connection, source=source)
        clauses.append(f"row{n} AS ({sql})")
        params += values
    ev = f"row{len(rows)}"
    if hearers:
        listed = ", ".join(["%s"] * len(hearers))
        guarded = f" AND EXISTS (SELECT 1 FROM {source})" if source else ""  # noqa: S608
        clauses.append(_BUMPED.format(listed=listed, guarded=guarded))
        clauses.append(_WRITTEN.format(event=ev))
        params += hearers
    else:
        clauses.append("written AS (SELECT NULL AS agency_id, NULL AS seq WHERE false)")
    # Each row's key and the event's number (no row: the guard matched none), once per
    # entry written.
    numbers = ", ".join(f"(SELECT * FROM row{n})" for n in range(len(rows) + 1))  # noqa: S608
    sql = f"WITH {', '.join(clauses)} SELECT {numbers}, written.agency_id, written.seq "
    with connection.cursor() as cursor:
        cursor.execute(f"{sql}FROM {ev} LEFT JOIN written ON true", params)
        found = cursor.fetchall()
    if not found:
        return None
    for instance, pk in zip([*rows, event], found[0], strict=False):
        prepared.inserted(instance, pk, connection.alias)
    return {agency: seq for *_, agency, seq in found if agency is not None}


_COUNTER = StreamCounter._meta.db_table
_ENTRY = StreamEntry._meta.db_table
_AGENCY = StreamEntry._meta.get_field("agency").related_model._meta.db_table
# An agency's stream head: its counter, or its newest entry where the entries have run
# ahead of the counter (SQLite numbers from the entries; PostgreSQL bumps the counter).
_HEAD = (
    f"{{greatest}}(COALESCE((SELECT c.seq FROM {_COUNTER} c WHERE c.agency_id = {{agency}}), 0), "  # noqa: S608
    f"COALESCE((SELECT MAX(e.seq) FROM {_ENTRY} e WHERE e.agency_id = {{agency}}), 0))"
)
_NUMBERED_FROM_HEAD = (
    f"INSERT INTO {_ENTRY} (agency_id, seq, event_id) "  # noqa: S608
    f"SELECT a.id, {_HEAD.format(greatest='MAX', agency='a.id')} + 1, %(event)s "
    f"FROM {_AGENCY} a WHERE a.id IN ({{listed}}) RETURNING agency_id, seq"
)
# The agencies' counters, locked in agency order and bumped.
_BUMPED = (
    f"bumped AS (UPDATE {_COUNTER} SET seq = seq + 1 WHERE agency_id IN ("  # noqa: S608
    f"SELECT agency_id FROM {_COUNTER} WHERE agency_id IN ({{listed}}){{guarded}} "
    "ORDER BY agency_id FOR UPDATE) RETURNING agency_id, seq)"
)
_NUMBERED_FROM_COUNTER = (
    f"WITH {_BUMPED} INSERT INTO {_ENTRY} (agency_id, seq, event_id) "  # noqa: S608
    "SELECT agency_id, seq, %(event)s FROM bumped RETURNING agency_id, seq"
)
# The bumped counters' entries, of the event the clause ``{event}`` inserted.
_WRITTEN = (
    f"written AS (INSERT INTO {_ENTRY} (agency_id, seq, event_id) "  # noqa: S608
    "SELECT bumped.agency_id, bumped.seq, {event}.seq FROM bumped, {event} "
    "RETURNING agency_id, seq)"
)


def _written(sql: str, event: Event, agencies: list[int]) -> dict[int, int]:
    """Run one of the appends above for ``agencies``; ``{agency: new seq}``."""
    with connection.cursor() as cursor:
        named = {f"agency{n}": agency for n, agency in enumerate(agencies)}
        listed = ", ".join(f"%({name})s" for name in named)
        cursor.execute(sql.format(listed=listed, guarded=""), {"event": event.pk, **named})
        return dict(cursor.fetchall())


def stream_head(agency_id: int) -> int:
    """The newest ``seq`` of the agency's stream (0 before its first)."""
    greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    sql = "SELECT " + _HEAD.format(greatest=greatest, agency="%s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [agency_id, agency_id])
        return cursor.fetchone()[0]


def publish(grown: dict[int, int]) -> None:
    """Nudge each agency's live sockets; losing this loses nothing (they read their
    stream). It carries only the agency and its stream's new ``seq``, never the event
    (each process's sockets of the agency hear it through ``coordination.live.dispatch``).

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
            await layer.group_send(
                stream_group(agency_id), {"type": "events.changed", "agency": agency_id, "seq": seq}
            )
        except Exception:  # the stream is the delivery; a failed nudge is only latency
            logger.warning("event nudge for agency %s not published", agency_id, exc_info=True)
