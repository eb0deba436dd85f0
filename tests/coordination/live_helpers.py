"""Helpers for WebSocket tests: open a socket as a member, say hello, collect events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from agencies import services as agency_services
from consent import services as consent_services
from coordination import services
from srn.asgi import application

ORIGIN = "https://srn.example"
PATH = "/ws/v1/events/"
QUIET = 0.3  # how long "nothing arrives" is watched for


def consent_fields(agencies, *names, categories=("identity", "contact", "status_updates")):
    return {
        "recipients": [agencies[name].id for name in names],
        "categories": list(categories),
        "method": "written",
        "evidence_sha256": "ab" * 32,
        "language": "es",
        "interpreter_used": True,
        "notice_version": "2026-01",
        "services_not_conditional": True,
        "signed_by": "survivor",
        "expires_at": timezone.now() + timedelta(days=90),
    }


def session_cookie(member) -> str:
    client = Client()
    client.force_login(member.user)
    return client.cookies["sessionid"].value


def token_for(member) -> str:
    _, token = agency_services.token_issue(member=member)
    return token


def communicator(*, cookie: str | None = None, origin: str | None = ORIGIN, headers=()):
    sent = list(headers)
    if origin is not None:
        sent.append((b"origin", origin.encode()))
    if cookie is not None:
        sent.append((b"cookie", f"sessionid={cookie}".encode()))
    sent.append((b"user-agent", b"pytest-ws"))
    return WebsocketCommunicator(application, PATH, headers=sent)


async def subscribe(socket, *, after: int = 0, ticket: str | None = None) -> list[dict]:
    """Say hello and return the replayed events (everything before ``ready``)."""
    hello = {"type": "hello", "after": after}
    if ticket is not None:
        hello["ticket"] = ticket
    await socket.send_json_to(hello)
    replayed = []
    while True:
        message = await socket.receive_json_from(timeout=5)
        if message["type"] == "ready":
            return replayed
        assert message["type"] == "event", message
        replayed.append(message)


async def open_session_socket(member, *, after: int = 0):
    cookie = await database_sync_to_async(session_cookie)(member)
    socket = communicator(cookie=cookie)
    connected, _ = await socket.connect(timeout=5)
    assert connected
    replayed = await subscribe(socket, after=after)
    return socket, replayed


async def next_events(socket, count: int, *, timeout: float = 5) -> list[dict]:
    """The next ``count`` events (heartbeats skipped)."""
    events = []
    while len(events) < count:
        message = await socket.receive_json_from(timeout=timeout)
        if message["type"] == "event":
            events.append(message)
    return events


async def no_more_events(socket, *, quiet: float = QUIET) -> None:
    """Nothing but heartbeats arrives for ``quiet`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + quiet
    while (left := deadline - loop.time()) > 0:
        if await socket.receive_nothing(timeout=left):
            return
        message = await socket.receive_json_from()
        assert message["type"] == "heartbeat", f"unexpected {message}"


async def closed_with(socket, *, timeout: float = 2) -> int:
    """Wait (at most ``timeout``) for the server to close; return the close code."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await socket.receive_output(timeout=max(0.01, deadline - loop.time()))
        if output["type"] == "websocket.close":
            return output.get("code", 1000)


# --- domain steps, run in a worker thread as a request would -----------------------------

run = database_sync_to_async


def make_survivor(member):
    return consent_services.survivor_create(actor=member, data={"given_name": "canary-given"})


def make_referral(member, survivor, recipients):
    return services.referral_create(
        actor=member,
        survivor_id=survivor.id,
        recipients=[agency.id for agency in recipients],
        needs=["shelter"],
        urgency="high",
        narrative="canary-narrative",
    )
