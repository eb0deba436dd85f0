"""Per-process coalescing for live sockets.

When one event is committed, every socket of the agencies that may hear of it wakes at
once (``coordination.live.dispatch`` wakes a process's sockets of each agency nudged).
Each must re-check its member
and credential and read its agency's stream through the access rule; done
one by one that is a few queries per socket, so latency grows with the number of
sockets. Here the sockets of one event loop share the work:

* ``entitled``: the checks that arrive within 2 ms go to the database as one batch
  (``agencies.live_auth.entitled_many``);
* ``events_after``: sockets of the same agency waiting from the same ``seq`` share one
  read (streams are per agency, consent per agency and role); only what that read
  withheld is decided again per member (their own emergency access), one query each.

Nothing is cached beyond the moment: a check or read that is in flight is shared, a
new one starts after it returns.
"""

from __future__ import annotations

import asyncio
import weakref

from channels.db import database_sync_to_async

from agencies import live_auth
from coordination import event_stream

COALESCE_SECONDS = 0.002


class _Loader:
    def __init__(self) -> None:
        self.pending: dict[tuple[int, str], list[asyncio.Future]] = {}
        self.flush_scheduled = False
        self.flushes: set[asyncio.Task] = set()  # the loop holds tasks only weakly
        self.reads: dict[tuple[int, str, int], asyncio.Future] = {}

    async def entitled(self, member_id: int, credential: str) -> bool:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.pending.setdefault((member_id, credential), []).append(waiter)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            flush = loop.create_task(self._flush())
            self.flushes.add(flush)
            flush.add_done_callback(self.flushes.discard)
        return await waiter

    async def _flush(self) -> None:
        # A moment for the other sockets woken by the same nudge to join the batch.
        await asyncio.sleep(COALESCE_SECONDS)
        batch, self.pending, self.flush_scheduled = self.pending, {}, False
        try:
            answers = await database_sync_to_async(live_auth.entitled_many)(set(batch))
        except Exception as error:  # every waiter fails closed with it
            for waiters in batch.values():
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(error)
            return
        for key, waiters in batch.items():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(answers[key])

    async def events_after(self, member, after: int, *, known: int = 0) -> event_stream.Batch:
        """The member's events after ``after``: the agency's read (shared) and, only
        if it withheld something, the member's own share of it (``for_member``)."""
        batch = await self._agency_batch(member, after, known)
        if batch.withheld:
            batch = await database_sync_to_async(event_stream.for_member)(member, batch)
        return batch

    async def _agency_batch(self, member, after: int, known: int) -> event_stream.Batch:
        """Join a read in flight for the same agency and ``after`` — unless it started
        before event ``known`` (which the caller was told exists) was visible."""
        key = (member.agency_id, member.role, after)  # consent decides per agency and role
        read = self.reads.get(key)
        if read is not None:
            batch = await asyncio.shield(read)
            if batch.more or batch.last_seq >= known:
                return batch
        read = asyncio.ensure_future(
            database_sync_to_async(event_stream.agency_batch)(member.agency_id, member.role, after)
        )
        self.reads[key] = read
        read.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(read)

    def _forget(self, key, done: asyncio.Future) -> None:
        if self.reads.get(key) is done:
            del self.reads[key]


_loaders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def loader() -> _Loader:
    """The loader of the running event loop (one per Daphne process in production)."""
    loop = asyncio.get_running_loop()
    found = _loaders.get(loop)
    if found is None:
        found = _loaders[loop] = _Loader()
    return found
