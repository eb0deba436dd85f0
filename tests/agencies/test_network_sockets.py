"""Suspending an agency closes its members' open sockets."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from agencies import network
from coordination.live import consumer as consumers
from tests.coordination import live_helpers as h

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_connections_closed"),
]


@pytest.fixture(autouse=True)
def _live_settings(settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = [h.ORIGIN]
    settings.WS_HEARTBEAT_SECONDS = 60
    settings.WS_HELLO_TIMEOUT_SECONDS = 5
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    yield
    async_to_sync(layer.flush)()


async def test_suspending_an_agency_closes_its_members_sockets(members, agencies):
    cookie = await h.run(h.session_cookie)(members["caseworker"])
    socket = h.communicator(cookie=cookie)
    assert (await socket.connect())[0]
    await h.subscribe(socket)

    await h.run(network.agency_suspend)(
        actor=members["network_admin"], agency_id=agencies["shelter"].pk
    )
    closing = await socket.receive_json_from(timeout=2)
    assert closing["type"] == "closing"
    assert await h.closed_with(socket, timeout=2) == consumers.CLOSE_SESSION_ENDED
