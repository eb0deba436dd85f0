"""The production channel layer's pool: bounded, and a burst waits instead of failing."""

import asyncio
import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer as StockLayer
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import MaxConnectionsError

from srn.channel_layer import POOL_SIZE, POOL_WAIT_SECONDS, RedisChannelLayer

UNREACHABLE = "redis://127.0.0.1:1/0"  # building a pool connects nothing


@pytest.mark.parametrize(
    ("host", "size", "wait"),
    [
        ({}, POOL_SIZE, POOL_WAIT_SECONDS),
        ({"max_connections": 3}, 3, POOL_WAIT_SECONDS),
        ({"max_connections": 7, "pool_timeout": 0.5}, 7, 0.5),
    ],
)
def test_the_pool_is_bounded_and_waits(host, size, wait):
    layer = RedisChannelLayer(hosts=[{"address": UNREACHABLE, "socket_timeout": 15, **host}])
    pool = layer.create_pool(0)
    assert isinstance(pool, BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (size, wait)
    # The rest of the host entry still reaches each connection.
    assert pool.connection_kwargs["socket_timeout"] == 15
    assert "pool_timeout" not in pool.connection_kwargs


def test_hosts_without_an_address_keep_channels_redis_pool():
    layer = RedisChannelLayer(hosts=[("127.0.0.1", 1)])
    assert not isinstance(layer.create_pool(0), BlockingConnectionPool)


async def _burst(layer, sockets: int) -> tuple[list, int]:
    """``sockets`` channels join one group at once, hear one message, and leave at once:
    the joins' and leaves' errors, and how many members the group has left."""
    group = "burst"
    channels = [await layer.new_channel() for _ in range(sockets)]
    joined = await asyncio.gather(
        *(layer.group_add(group, channel) for channel in channels), return_exceptions=True
    )
    errors = [outcome for outcome in joined if outcome is not None]
    if not errors:
        await layer.group_send(group, {"type": "probe"})
        heard = await asyncio.gather(*(layer.receive(channel) for channel in channels))
        assert heard == [{"type": "probe"}] * sockets
    left = await asyncio.gather(
        *(layer.group_discard(group, channel) for channel in channels), return_exceptions=True
    )
    errors += [outcome for outcome in left if outcome is not None]
    connection = layer.connection(layer.consistent_hash(group))
    return errors, await connection.zcard(f"{layer.prefix}:group:{group}")


def _run_burst(kind, *, size: int, sockets: int) -> tuple[list, int]:
    async def run():
        layer = kind(
            hosts=[{"address": os.environ["REDIS_URL"], "max_connections": size}],
            prefix=f"burst-{uuid.uuid4().hex[:8]}",
        )
        try:
            return await _burst(layer, sockets)
        finally:
            await layer.flush()

    return async_to_sync(run)()


@pytest.mark.production
def test_a_burst_of_joins_and_leaves_beyond_the_pool_waits_and_succeeds():
    assert _run_burst(RedisChannelLayer, size=4, sockets=200) == ([], 0)


@pytest.mark.production
def test_the_stock_pool_fails_the_same_burst():
    # What the layer above is for: channels_redis's own pool refuses part of the burst.
    errors, _ = _run_burst(StockLayer, size=4, sockets=200)
    assert errors
    assert all(isinstance(error, MaxConnectionsError) for error in errors)
