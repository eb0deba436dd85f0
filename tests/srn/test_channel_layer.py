"""The production channel layer's Redis pool: a burst of group joins and leaves from
one process — hundreds of sockets connecting or dropping together — must not fail.

redis-py 8's pool fails a command at once (``MaxConnectionsError``) when it already has
100 connections in use, and channels_redis takes one per command; the settings raise
the limit (``srn/channel_layer.py``)."""

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from django.conf import settings
from redis.exceptions import MaxConnectionsError

from srn import channel_layer

pytestmark = pytest.mark.production

SOCKETS = 300  # at once, from one process: three times redis-py's default pool


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


def _run_burst(host: dict) -> tuple[list, int]:
    """The burst on a layer of the settings' class and ``host``, under a prefix of its own."""

    async def run():
        layer = RedisChannelLayer(hosts=[host], prefix=f"burst-{uuid.uuid4().hex[:8]}")
        try:
            return await _burst(layer, SOCKETS)
        finally:
            await layer.flush()

    return async_to_sync(run)()


def _settings_host() -> dict:
    config = settings.CHANNEL_LAYERS["default"]
    assert config["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    (host,) = config["CONFIG"]["hosts"]
    return dict(host)


def test_a_burst_of_joins_and_leaves_succeeds_with_the_settings_pool():
    host = _settings_host()
    assert host["max_connections"] > SOCKETS
    assert _run_burst(host) == ([], 0)


def test_redis_py_default_pool_fails_the_same_burst():
    # Why the settings raise the limit: without it part of the burst fails and its
    # memberships stay behind.
    host = _settings_host()
    del host["max_connections"]
    errors, _ = _run_burst(host)
    assert errors
    assert all(isinstance(error, MaxConnectionsError) for error in errors)


def test_the_settings_connections_keep_a_cancellation():
    # Python 3.11 loses one that arrives as a send completes (tests/srn/test_redis_cancellation.py).
    assert isinstance(create_pool(_settings_host()).make_connection(), channel_layer.Connection)
