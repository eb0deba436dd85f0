"""The channel layer's Redis connections keep a cancellation that arrives as a command's
send completes (``srn.channel_layer``).

The race is made exact: the send itself cancels its caller and then completes, so the
cancellation and the send's result reach the caller in the same loop step. No Redis is
needed: the connection's socket is a stand-in, and the send never reaches it."""

from __future__ import annotations

import asyncio
import sys

import pytest
from channels_redis.utils import create_pool
from redis.asyncio import connection as redis_connection

from srn import channel_layer

KEEPING = [
    channel_layer.Connection,
    channel_layer.SSLConnection,
    channel_layer.UnixDomainSocketConnection,
]


class _Writer:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _connected(cls):
    """A connection that believes it is connected; its send cancels whoever awaits it,
    then completes."""
    connection = cls(socket_timeout=15)  # a timeout: redis-py sends under wait_for
    connection._reader, connection._writer = object(), _Writer()
    caller: list[asyncio.Task] = []

    async def send_then_complete(command):
        caller[0].cancel()

    connection._send_packed_command = send_then_complete
    return connection, caller


async def _send(cls) -> tuple[asyncio.Task, object]:
    connection, caller = _connected(cls)
    task = asyncio.ensure_future(connection.send_packed_command([b"PING\r\n"], False))
    caller.append(task)
    await asyncio.wait([task])
    return task, connection


@pytest.mark.parametrize("cls", KEEPING, ids=lambda cls: cls.__name__)
async def test_a_cancellation_as_the_send_completes_is_raised(cls):
    task, connection = await _send(cls)
    assert task.cancelled()
    # Its reply will never be read: the connection is dropped, not handed back.
    assert not connection.is_connected


async def test_redis_py_alone_loses_that_cancellation_before_python_3_12():
    # The race above is the real one: redis-py's own connection lets the caller go on.
    task, connection = await _send(redis_connection.Connection)
    lost = sys.version_info < (3, 12)
    assert task.cancelled() is not lost
    assert connection.is_connected is lost


async def test_a_send_without_a_cancellation_completes_and_stays_connected():
    connection = channel_layer.Connection(socket_timeout=15)
    connection._reader, connection._writer = object(), _Writer()
    sent = []

    async def send(command):
        sent.append(command)

    connection._send_packed_command = send
    await connection.send_packed_command([b"PING\r\n"], False)
    assert sent == [[b"PING\r\n"]]
    assert connection.is_connected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:secret@127.0.0.1:6379/2", channel_layer.Connection),
        ("rediss://127.0.0.1:6380/0", channel_layer.SSLConnection),
        ("unix:///run/redis/redis.sock?db=1", channel_layer.UnixDomainSocketConnection),
    ],
)
def test_every_scheme_gets_a_connection_that_keeps_it(url, expected):
    host = channel_layer.redis_host(url, socket_timeout=15, max_connections=7)
    pool = create_pool(host)  # as channels_redis builds it
    assert pool.connection_class is expected
    assert pool.max_connections == 7
    assert pool.connection_kwargs["socket_timeout"] == 15
    parsed = redis_connection.parse_url(url)  # what the pool would have read from it
    assert parsed.pop("connection_class", redis_connection.Connection) in expected.__mro__
    assert parsed
    assert {name: pool.connection_kwargs[name] for name in parsed} == parsed
