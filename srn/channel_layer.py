"""The production channel layer: channels_redis with a pool that waits for a connection.

channels_redis takes a connection for each command from one redis-py pool per event
loop (one per Daphne process), and the process's blocking pop (``BZPOPMIN``, what every
socket's channel is read through) holds one more for up to five seconds. redis-py 8's
pool holds at most 100 connections (``max_connections`` defaults to 100; older releases
left it unbounded) and a command that finds them all in use fails at once with
``MaxConnectionsError`` ("Too many connections"). So when more than ~100 sockets of one
process join or leave a group at the same moment, the rest fail: of 300 sockets dropped
together (a proxy restart, a client's network gone), 134 ``group_discard`` calls failed,
each leaving a membership behind until it expires (``bench/README.md``, fan-out); the
fan-out bench's echo baseline failed its sockets' ``group_add`` at 100.

This layer's pool is redis-py's ``BlockingConnectionPool``: at most ``max_connections``
connections per process (the host entry's, default ``POOL_SIZE``), and a command that
finds them all busy waits up to ``pool_timeout`` seconds (default ``POOL_WAIT_SECONDS``)
for one to be released instead of failing. Commands take a millisecond or so on
loopback, so a burst of a thousand queues for tens of milliseconds.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from redis.asyncio import BlockingConnectionPool

POOL_SIZE = 50
POOL_WAIT_SECONDS = 10.0


class RedisChannelLayer(_RedisChannelLayer):
    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:  # sentinels or host/port pairs: channels_redis's own pool
            return super().create_pool(index)
        address = host.pop("address")
        host.setdefault("max_connections", POOL_SIZE)
        wait = host.pop("pool_timeout", POOL_WAIT_SECONDS)
        return BlockingConnectionPool.from_url(address, timeout=wait, **host)
