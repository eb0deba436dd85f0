"""The production channel layer's Redis connections.

redis-py sends each command under ``asyncio.wait_for`` when a socket timeout is set.
Before Python 3.12, ``wait_for`` loses a cancellation that arrives in the loop step in
which the send completes: it returns the send's result and the caller goes on as if
never cancelled (CPython gh-86296; 3.12 rewrote ``wait_for`` on ``asyncio.timeout``).
A channel-layer receive cancelled at that moment — a socket closing, the process's live
listener stopping when its last socket leaves, a shutdown — then goes on reading Redis
for ever: a listener that outlives its sockets, a shutdown that never ends. Under load
the test suite hit it in about one run in two (docs/live.md).

The connections here keep such a cancellation: when the send returns while a
cancellation asked for during it is still pending, the reply is never read, so the
connection is dropped (its unread reply must not reach the next command) and the
cancellation is raised. On Python 3.12 and later the send raises it itself and nothing
here runs.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import connection as redis_connection


class _KeepsCancellation:
    async def send_packed_command(self, command, check_health: bool = True) -> None:
        task = asyncio.current_task()
        asked = task.cancelling() if task is not None else 0
        await super().send_packed_command(command, check_health)
        if task is not None and task.cancelling() > asked:
            await self.disconnect(nowait=True)
            raise asyncio.CancelledError


class Connection(_KeepsCancellation, redis_connection.Connection):
    pass


class SSLConnection(_KeepsCancellation, redis_connection.SSLConnection):
    pass


class UnixDomainSocketConnection(_KeepsCancellation, redis_connection.UnixDomainSocketConnection):
    pass


# redis-py 8 reads with a 5 s socket timeout by default, the same as the layer's blocking
# pop: idle sockets would crash every few seconds (channels_redis#422). Read longer than
# the pop; connect fast. Its pool fails a command beyond 100 connections (was unbounded),
# and channels_redis takes one per command: hundreds of sockets joining or leaving at
# once failed (docs/live.md). 5,000 per process; Redis serves 10,000 clients by default
# (deploy/RUNBOOK.md, "Scale out").
LAYER_OPTIONS = {"socket_timeout": 15, "socket_connect_timeout": 5, "max_connections": 5000}

_KEEPING = {
    redis_connection.Connection: Connection,
    redis_connection.SSLConnection: SSLConnection,
    redis_connection.UnixDomainSocketConnection: UnixDomainSocketConnection,
}


def redis_host(url: str, **options) -> dict:
    """A channels_redis host for ``url`` (``redis://``, ``rediss://`` or ``unix://``)
    with ``LAYER_OPTIONS`` (``options`` override them), whose connections keep a
    cancellation. The URL is parsed here, not by the pool, so the connection class
    chosen for its scheme is the one that keeps it."""
    parsed = dict(redis_connection.parse_url(url))
    plain = parsed.pop("connection_class", redis_connection.Connection)
    return {**parsed, "connection_class": _KEEPING[plain], **LAYER_OPTIONS, **options}
