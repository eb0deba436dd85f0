"""Scale-out: two real Daphne processes share one PostgreSQL and one Redis. A change
made through one process reaches sockets held by the other, and so does a logout."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect

from tests import processes
from tests.coordination import live_helpers as h

pytestmark = [
    pytest.mark.production,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_connections_closed"),
]


@pytest.fixture
def two_daphnes(transactional_db):
    env = processes.database_urls(connection.settings_dict)
    with processes.daphnes(2, env=env) as ports:
        yield ports


def http(port: int, method: str, path: str, *, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",  # as the TLS proxy in front would say
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        raw = response.read()
        return json.loads(raw) if raw else {}


async def open_socket(port: int, *, cookie: str | None = None, ticket: str | None = None):
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    socket = await connect(
        f"ws://127.0.0.1:{port}/ws/v1/events/",
        origin=settings.WEBSOCKET_ALLOWED_ORIGINS[0],
        additional_headers=headers,
        open_timeout=10,
    )
    hello = {"type": "hello", "after": 0, **({"ticket": ticket} if ticket else {})}
    await socket.send(json.dumps(hello))
    while (message := json.loads(await asyncio.wait_for(socket.recv(), 10)))["type"] != "ready":
        assert message["type"] == "event"
    return socket


async def next_event(socket) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if message["type"] == "event":
            return message


@pytest.fixture
def referral(members, agencies):
    survivor = h.make_survivor(members["liaison"])
    from coordination import services

    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **h.consent_fields(agencies, "shelter")
    )
    return h.make_referral(members["liaison"], survivor, [agencies["shelter"]])


async def test_an_event_caused_on_one_process_reaches_sockets_on_the_other(
    members, referral, two_daphnes
):
    first, second = two_daphnes
    shelter, liaison = members["caseworker"], members["liaison"]
    shelter_token = await h.run(h.token_for)(shelter)
    # The caseworker follows through process 1 with a ticket issued by process 2.
    ticket = (
        await asyncio.to_thread(
            http, second, "POST", "/api/v1/auth/ws-ticket/", token=shelter_token
        )
    )["ticket"]
    caseworker_socket = await open_socket(first, ticket=ticket)
    # The liaison follows through process 1 by session cookie.
    liaison_socket = await open_socket(first, cookie=await h.run(h.session_cookie)(liaison))

    await asyncio.to_thread(
        http,
        second,
        "POST",
        f"/api/v1/referrals/{referral.id}/transitions/",
        token=shelter_token,
        body={"action": "accept"},
    )
    for socket in (caseworker_socket, liaison_socket):
        event = await next_event(socket)
        assert (event["kind"], event["referral"]) == ("referral.accepted", str(referral.id))

    # Ending the token through process 2 closes the socket it opened on process 1.
    await asyncio.to_thread(http, second, "POST", "/api/v1/auth/logout/", token=shelter_token)
    closing = json.loads(await asyncio.wait_for(caseworker_socket.recv(), 2))
    assert closing == {"type": "closing", "code": "logout"}
    await asyncio.wait_for(caseworker_socket.wait_closed(), 2)
    assert caseworker_socket.close_code == 4001
    await liaison_socket.close()


async def test_deactivation_on_one_process_closes_sockets_on_the_other(
    members, referral, two_daphnes
):
    first, second = two_daphnes
    socket = await open_socket(first, cookie=await h.run(h.session_cookie)(members["caseworker"]))
    admin_token = await h.run(h.token_for)(members["admin"])
    await asyncio.to_thread(
        http,
        second,
        "POST",
        f"/api/v1/members/{members['caseworker'].pk}/deactivate/",
        token=admin_token,
    )
    assert json.loads(await asyncio.wait_for(socket.recv(), 2))["type"] == "closing"
    await asyncio.wait_for(socket.wait_closed(), 2)
    assert socket.close_code == 4001
    await h.run(members["caseworker"].refresh_from_db)()
    assert not members["caseworker"].is_active


async def test_an_idle_socket_outlives_the_redis_read_timeout(members, referral, two_daphnes):
    """redis-py 8 gives up reading after 5 s by default, as long as the layer's blocking
    pop waits: without a longer timeout an idle socket crashes (close code 1011)."""
    first, second = two_daphnes
    socket = await open_socket(first, cookie=await h.run(h.session_cookie)(members["caseworker"]))
    await asyncio.sleep(7)
    token = await h.run(h.token_for)(members["caseworker"])
    await asyncio.to_thread(
        http,
        second,
        "POST",
        f"/api/v1/referrals/{referral.id}/transitions/",
        token=token,
        body={"action": "accept"},
    )
    assert (await next_event(socket))["kind"] == "referral.accepted"
    assert socket.close_code is None
    await socket.close()
