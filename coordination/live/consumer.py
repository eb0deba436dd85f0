"""``/ws/v1/events/``: the resumable, consent-checked event stream.

Handshake (DESIGN.md wire contract): the Origin must be on the allow-list; a browser
is authenticated by its session cookie, any other client by a single-use ticket in its
first message, ``{"type": "hello", "after": SEQ, "ticket": ...}``. The server replays
every event after ``SEQ`` the caller's agency may see, answers ``{"type": "ready"}``
and then streams live events, all in ``seq`` order — the agency's own numbering (see
``coordination.event_stream``).

Live nudges from the channel layer only say "your agency's stream reached N" (heard
once per process and agency, and passed to its sockets: ``coordination.live.dispatch``);
the socket reads that stream from its own ``last_seq`` and asks the access rule for each
event, so replay and live never gap or overlap, and a lost nudge costs latency, never
an event. Before each delivery and at each heartbeat the socket re-checks its member
and credential; logout, deactivation and role changes also close it at once through
the user's group. Every refusal, a malformed message included, is audited (``denied``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from agencies import live_auth
from agencies.models import LIVE_ROLES, Membership
from agencies.selectors import membership_for
from audit import context as audit_context
from audit.models import Action
from audit.recorder import record
from coordination import event_stream
from coordination.live import dispatch, sharing

logger = logging.getLogger(__name__)

HELLO_MAX_BYTES = 4096

# Close codes (4000-4999 are the application's).
CLOSE_SESSION_ENDED = 4001
CLOSE_BAD_MESSAGE = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_HELLO_TIMEOUT = 4408


def scope_context(scope) -> audit_context.RequestContext:
    """The audit context (connection id, client address, user agent) of a socket."""
    headers = {name.decode("latin-1").lower(): value for name, value in scope.get("headers", [])}
    client = scope.get("client") or (None, None)
    return audit_context.context_from_meta(
        {
            "REMOTE_ADDR": client[0],
            "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for", b"").decode("latin-1"),
            "HTTP_USER_AGENT": headers.get("user-agent", b"").decode("latin-1"),
        }
    )


def origin_allowed(scope) -> bool:
    """Exactly one Origin header, equal to an allowed origin. ``null``, a missing or a
    foreign Origin is refused (cross-site WebSocket hijacking)."""
    origins = [value for name, value in scope.get("headers", []) if name.lower() == b"origin"]
    if len(origins) != 1:
        return False
    origin = origins[0].decode("latin-1").strip().rstrip("/").lower()
    allowed = {o.strip().rstrip("/").lower() for o in settings.WEBSOCKET_ALLOWED_ORIGINS}
    return origin != "null" and origin in allowed


@functools.lru_cache(maxsize=1024)
def _wire(event: event_stream.StreamEvent) -> str:
    """An event's text frame (what ``send_json`` would send), encoded once for every
    socket that receives it."""
    return json.dumps(event_stream.event_payload(event))


def _dropped_quietly(read: asyncio.Future) -> None:
    if not read.cancelled():
        read.exception()  # marks it retrieved; an awaited read still raises it


class EventsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.member: Membership | None = None
        self.credential: str | None = None
        self.last_seq: int | None = None
        self.groups_joined: list[str] = []
        self.streaming: int | None = None  # the agency whose nudges this socket hears
        self.tasks: list[asyncio.Task] = []
        self.pump_lock = asyncio.Lock()
        self.closing = False
        self.audit = scope_context(self.scope)

        if not origin_allowed(self.scope):
            await self._refuse_handshake("origin_refused")
            return
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            member = await database_sync_to_async(membership_for)(user)
            session = self.scope.get("session")
            if member is None or session is None or not session.session_key:
                await self._refuse_handshake("not_a_member")
                return
            if member.role not in LIVE_ROLES:
                await self._refuse_handshake("role_refused", member)
                return
            self.member = member
            self.credential = live_auth.session_credential(session.session_key)
        await self.accept()
        if self.member is not None:
            await self._authenticated("session")
        self.tasks.append(asyncio.create_task(self._hello_deadline()))

    async def disconnect(self, code):
        for task in self.tasks:
            task.cancel()
        if self.streaming is not None:
            await dispatch.dispatcher(self.channel_layer).leave(self.streaming, self)
            self.streaming = None
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    # --- client messages ---------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None or len(text_data) > HELLO_MAX_BYTES:
            await self._refuse_message("invalid_message", "Send one JSON text message.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._refuse_message("invalid_message", "Messages must be JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind != "hello" or self.last_seq is not None:
            await self._refuse_message(
                "invalid_message", "The first message must be a hello, and there is only one."
            )
            return
        after = content.get("after")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            await self._refuse_message(
                "invalid_after", "after must be the last seq seen (0 for all)."
            )
            return
        if self.member is None and not await self._redeem(content.get("ticket")):
            return
        head = await database_sync_to_async(event_stream.head_seq)(self.member.agency_id)
        if after > head:
            await self._refuse_message("invalid_after", "after is beyond the newest event.")
            return
        await self._subscribe(after)

    # --- channel-layer messages -----------------------------------------------------------

    async def events_changed(self, message):
        """A nudge (from ``coordination.live.dispatch``): the agency's stream reached
        ``seq``."""
        if self.last_seq is None or self.closing or message["seq"] <= self.last_seq:
            return
        await self._pump(known=message["seq"])

    async def auth_ended(self, message):
        mine = live_auth.auth_id(self.credential) if self.credential else None
        if message.get("auth_id") in (None, mine):
            await self._end(message.get("reason") or "session_ended")

    # --- steps ------------------------------------------------------------------------------

    async def _redeem(self, ticket) -> bool:
        redeemed = await database_sync_to_async(live_auth.ws_ticket_redeem)(ticket)
        if redeemed is None:
            await self._refuse("invalid_ticket", None, CLOSE_UNAUTHENTICATED)
            return False
        if redeemed.member.role not in LIVE_ROLES:
            await self._refuse("role_refused", redeemed.member, CLOSE_FORBIDDEN)
            return False
        self.member, self.credential = redeemed.member, redeemed.credential
        await self._authenticated("ticket")
        return True

    async def _authenticated(self, method: str):
        group = live_auth.user_group(self.member.user_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)
        await self._record(Action.WS_CONNECT, {"method": method})

    async def _subscribe(self, after: int):
        for task in self.tasks:
            task.cancel()  # the hello deadline
        self.streaming = self.member.agency_id
        await dispatch.dispatcher(self.channel_layer).join(self.streaming, self)
        await self._record(Action.WS_SUBSCRIBE, {"after": after})
        self.last_seq = after
        if not await self._pump():
            return
        await self.send_json({"type": "ready", "last_seq": self.last_seq})
        self.tasks = [asyncio.create_task(self._heartbeat())]

    async def _pump(self, known: int = 0) -> bool:
        """Deliver every deliverable event after ``last_seq``; False if the socket ended.

        The member and credential are re-checked before each batch is delivered, and the
        batch is read through the access rule now (both shared with the process's other
        sockets, see ``coordination.live.sharing``). The read starts with the check, not
        after it: nothing is sent unless the check passes."""
        shared = sharing.loader()
        async with self.pump_lock:
            while not self.closing:
                reading = asyncio.ensure_future(
                    shared.events_after(self.member, self.last_seq, known=known)
                )
                # If the check fails, the read's outcome is dropped unread: say so.
                reading.add_done_callback(_dropped_quietly)
                if not await shared.entitled(self.member.pk, self.credential):
                    reading.cancel()  # (a shared read goes on for the sockets it serves)
                    await self._end("session_ended")
                    return False
                batch = await reading
                for event in batch.events:
                    await self.send(text_data=_wire(event))
                self.last_seq = batch.last_seq
                if not batch.more:
                    return True
            return False

    async def _heartbeat(self):
        while not self.closing:
            await asyncio.sleep(settings.WS_HEARTBEAT_SECONDS)
            # Also catches up on any nudge the channel layer dropped.
            if not await self._pump():
                return
            await self.send_json({"type": "heartbeat", "last_seq": self.last_seq})

    async def _hello_deadline(self):
        await asyncio.sleep(settings.WS_HELLO_TIMEOUT_SECONDS)
        if self.last_seq is None:
            await self._refuse("hello_timeout", self.member, CLOSE_HELLO_TIMEOUT)

    # --- endings ----------------------------------------------------------------------------

    async def _record(self, action: str, detail: dict):
        def write():
            with audit_context.bound(self.audit):
                record(action=action, actor=self.member.as_actor(), object_type="ws", detail=detail)

        await database_sync_to_async(write)()

    async def _audit_refusal(self, reason: str, member: Membership | None):
        def write():
            with audit_context.bound(self.audit):
                live_auth.refusal_record(member=member, reason=reason)

        await database_sync_to_async(write)()

    async def _refuse_handshake(self, reason: str, member: Membership | None = None):
        """Refuse before accepting: the client sees the handshake fail (HTTP 403)."""
        await self._audit_refusal(reason, member)
        self.closing = True
        await self.close()

    async def _refuse(self, reason: str, member: Membership | None, code: int):
        await self._audit_refusal(reason, member)
        await self._fail(reason, "Not authorised to follow events.", code)

    async def _refuse_message(self, reason: str, detail: str):
        """A message the protocol does not allow: audited like every refusal, then
        closed with 4400."""
        if self.closing:
            return
        await self._audit_refusal(reason, self.member)
        await self._fail(reason, detail, CLOSE_BAD_MESSAGE)

    async def _fail(self, code: str, detail: str, close_code: int):
        if self.closing:
            return
        self.closing = True
        await self.send_json({"type": "error", "code": code, "detail": detail})
        await self.close(code=close_code)

    async def _end(self, reason: str):
        """The member's session, token or entitlement ended: stop now."""
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(Exception):
            await self.send_json({"type": "closing", "code": reason})
        await self.close(code=CLOSE_SESSION_ENDED)
