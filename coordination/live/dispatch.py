"""One channel-layer subscription per agency and process, fanned out to the process's
sockets of that agency.

An event nudges the group of each agency that may hear of it (``outbox.publish``: "your
stream reached N"). Were every socket a member of its agency's group, the layer would
deliver one message per socket — copied, queued and dispatched to each consumer — and
that per-socket delivery was most of what a fan-out to many sockets cost beyond the
sends themselves. Instead the process joins each agency's group once, on a channel of
its own, and on a nudge wakes every local socket of that agency directly
(``EventsConsumer.events_changed``); their checks and reads are shared
(``coordination.live.sharing``).

Nothing changes for what a socket may receive: each still re-checks its member and
credential and reads its stream through the access rule before it sends, and its
heartbeat still catches up on a nudge the layer dropped. Logout and deactivation still
reach each socket through its user's group.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from coordination.outbox import stream_group

logger = logging.getLogger(__name__)

# Group membership expires in the channel layers (a day by default): renewed this often.
RENEW_SECONDS = 3600.0


class _Dispatcher:
    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.sockets: dict[int, set] = {}
        self.lock = asyncio.Lock()  # membership changes, one at a time
        self.listening: asyncio.Task | None = None
        self.renewed = 0.0
        self.waking: set[asyncio.Task] = set()  # the loop holds tasks only weakly

    async def join(self, agency_id: int, socket) -> None:
        """``socket`` hears its agency's nudges from now on."""
        async with self.lock:
            if self.channel is None:
                # The layer's default prefix: channels_redis reads every channel of a
                # process from one key per prefix, under one lock the sockets share.
                self.channel = await self.layer.new_channel()
                self.renewed = time.monotonic()
                self.listening = asyncio.get_running_loop().create_task(self._listen())
            local = self.sockets.setdefault(agency_id, set())
            if not local:
                await self.layer.group_add(stream_group(agency_id), self.channel)
            local.add(socket)

    async def leave(self, agency_id: int, socket) -> None:
        async with self.lock:
            local = self.sockets.get(agency_id)
            if local is None or socket not in local:
                return
            local.discard(socket)
            if not local:
                del self.sockets[agency_id]
                await self.layer.group_discard(stream_group(agency_id), self.channel)
            if not self.sockets and self.listening is not None:
                # No socket left: stop listening (a new one starts on the next join).
                self.listening.cancel()
                self.listening, self.channel = None, None

    async def _listen(self) -> None:
        channel = self.channel
        while True:
            try:
                message = await self.layer.receive(channel)
                if message.get("type") == "events.changed":
                    self._wake(message)
                if time.monotonic() - self.renewed > RENEW_SECONDS:
                    await self._renew()
            except asyncio.CancelledError:
                raise
            except Exception:  # the heartbeats catch up meanwhile
                logger.warning("live dispatch: the channel layer failed", exc_info=True)
                await asyncio.sleep(1.0)

    def _wake(self, message: dict) -> None:
        """Every local socket of the nudged agency reads on from its own ``last_seq``."""
        loop = asyncio.get_running_loop()
        for socket in list(self.sockets.get(message.get("agency"), ())):
            task = loop.create_task(socket.events_changed(message))
            self.waking.add(task)
            task.add_done_callback(self._woken)

    def _woken(self, task: asyncio.Task) -> None:
        self.waking.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("live dispatch: a socket's delivery failed", exc_info=task.exception())

    async def _renew(self) -> None:
        async with self.lock:
            self.renewed = time.monotonic()
            for agency_id in self.sockets:
                await self.layer.group_add(stream_group(agency_id), self.channel)


_dispatchers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def dispatcher(layer) -> _Dispatcher:
    """The running event loop's dispatcher for ``layer`` (one per Daphne process)."""
    loop = asyncio.get_running_loop()
    found = _dispatchers.setdefault(loop, {})
    if layer not in found:
        found[layer] = _Dispatcher(layer)
    return found[layer]
