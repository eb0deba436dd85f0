"""Authentication for live connections: WebSocket tickets, and the bus that ends a
user's sockets when their session, token or membership ends.

A socket authenticates once, at its handshake, with one credential: a session cookie,
or a ticket issued under a session or an API token. The socket keeps that credential
and re-checks it; broadcasts name it only by a hash (``auth_id``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from agencies.models import Membership, WsTicket
from audit.models import Action, Outcome
from audit.recorder import record
from srn.prepared import prepared

logger = logging.getLogger(__name__)

# Credential kinds (a prefix, not a secret).
SESSION = "s"
TOKEN = "t"  # noqa: S105


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def session_credential(session_key: str) -> str:
    return f"{SESSION}:{session_key}"


def token_credential(token: AuthToken) -> str:
    # knox keys tokens by their digest; it is not the token itself.
    return f"{TOKEN}:{token.digest}"


def auth_id(credential: str) -> str:
    """What broadcasts call a credential: a hash, never the credential."""
    return _sha256(credential)[:32]


def user_group(user_id: int) -> str:
    """The channel-layer group of every live socket of one user."""
    return f"srn.user.{user_id}"


def credential_valid(credential: str, user_id: int) -> bool:
    """Is the session or token behind ``credential`` still alive for this user?"""
    kind, _, value = credential.partition(":")
    if not value:
        return False
    if kind == TOKEN:
        return AuthToken.objects.filter(
            digest=value, user_id=user_id, expiry__gt=timezone.now()
        ).exists()
    if kind == SESSION:
        store = import_module(settings.SESSION_ENGINE).SessionStore(value)
        return str(store.load().get(SESSION_KEY)) == str(user_id)
    return False


# --- tickets --------------------------------------------------------------------------


@transaction.atomic
def ws_ticket_issue(*, member: Membership, credential: str) -> str:
    """A fresh single-use ticket, valid ``WS_TICKET_TTL_SECONDS``; audits ``create``.

    The ticket is returned once and never stored (only its SHA-256).
    """
    now = timezone.now()
    WsTicket.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    ticket = secrets.token_urlsafe(32)
    row = WsTicket.objects.create(
        digest=_sha256(ticket),
        member=member,
        credential=credential,
        expires_at=now + timedelta(seconds=settings.WS_TICKET_TTL_SECONDS),
    )
    record(
        action=Action.CREATE,
        actor=member.as_actor(),
        object_type="ws_ticket",
        object_id=row.pk,
        detail={"ttl_seconds": settings.WS_TICKET_TTL_SECONDS},
    )
    return ticket


@dataclass(frozen=True)
class Redeemed:
    member: Membership
    credential: str


def ws_ticket_redeem(ticket) -> Redeemed | None:
    """The member a ticket was issued to, or ``None``.

    A ticket works once, within its lifetime, for a member and credential still valid.
    Using it is one conditional UPDATE, so two sockets racing with one ticket cannot
    both win.
    """
    if not isinstance(ticket, str) or not 20 <= len(ticket) <= 100:
        return None
    now = timezone.now()
    digest = _sha256(ticket)
    with transaction.atomic():
        used = WsTicket.objects.filter(
            digest=digest, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if used != 1:
            return None
        row = WsTicket.objects.select_related("member__user", "member__agency").get(digest=digest)
    if not row.member.is_usable or not credential_valid(row.credential, row.member.user_id):
        return None
    return Redeemed(row.member, row.credential)


# --- ending sockets -----------------------------------------------------------------------


def sockets_end(*, user_id: int, credential: str | None = None, reason: str) -> None:
    """After commit, close the user's sockets opened under ``credential`` (all of them
    when ``None``). Sockets also re-check their credential before every delivery and at
    every heartbeat, so a lost message costs latency, never a disclosure."""
    message = {
        "type": "auth.ended",
        "auth_id": auth_id(credential) if credential else None,
        "reason": reason,
    }

    def publish() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(user_group(user_id), message)
        except Exception:  # the sockets' own re-checks still close them
            logger.warning("socket close for user %s not published", user_id, exc_info=True)

    transaction.on_commit(publish)


def refusal_record(*, member: Membership | None, reason: str) -> None:
    """Audit a refused live connection (origin, credential, role or message)."""
    with transaction.atomic():
        record(
            action=Action.DENIED,
            actor=member.as_actor() if member is not None else None,
            outcome=Outcome.DENIED,
            object_type="ws",
            detail={"code": reason},
        )


# --- many sockets at once -------------------------------------------------------------------

DB_SESSIONS = "django.contrib.sessions.backends.db"


@functools.lru_cache(maxsize=16384)
def _session_user(session_data: str) -> str:
    """The user id a stored session names. Decoding (a signature check) is a pure
    function of the stored text, so each text is decoded once per process: every live
    socket re-checks its session at each event, and the row's existence and expiry are
    still read from the database each time."""
    from django.contrib.sessions.backends.db import SessionStore

    return str(SessionStore().decode(session_data).get(SESSION_KEY))


def entitled_many(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], bool]:
    """For many sockets at once: is member ``m`` still usable, in a live role, with its
    credential ``c`` alive? A constant number of queries for any number of sockets
    (with database sessions; other session engines load each session)."""
    from agencies.models import LIVE_ROLES

    now = timezone.now()
    members = {m.pk: m for m in _members(ids=sorted({member_id for member_id, _ in pairs}))}
    kinds = {credential: credential.partition(":") for _, credential in pairs}
    digests = sorted(value for kind, _, value in kinds.values() if kind == TOKEN)
    token_users = dict(_token_users(digests=digests, now=now)) if digests else {}
    session_keys = sorted(value for kind, _, value in kinds.values() if kind == SESSION)
    session_users: dict[str, str] = {}
    if session_keys and settings.SESSION_ENGINE == DB_SESSIONS:
        for key, data in _sessions(keys=session_keys, now=now):
            session_users[key] = _session_user(data)

    def alive(credential: str, user_id: int) -> bool:
        kind, _, value = kinds[credential]
        if kind == TOKEN:
            return token_users.get(value) == user_id
        if kind == SESSION and settings.SESSION_ENGINE == DB_SESSIONS:
            return session_users.get(value) == str(user_id)
        return credential_valid(credential, user_id)

    result = {}
    for member_id, credential in pairs:
        member = members.get(member_id)
        result[(member_id, credential)] = (
            member is not None
            and member.is_usable
            and member.role in LIVE_ROLES
            and alive(credential, member.user_id)
        )
    return result


# Every live event re-checks every socket's member and credential through these: each
# compiled once (``srn.prepared``) per number of sockets, members or credentials.
@prepared
def _members(*, ids: list[int]):
    return Membership.objects.select_related("user", "agency").filter(pk__in=ids).order_by()


def _unexpired(model, key: str, value: str, expiry: str, keys: list[str], now):
    """``(key, value)`` of the rows of ``model`` with those keys that have not expired."""
    rows = model.objects.filter(**{f"{key}__in": keys, f"{expiry}__gt": now})
    return rows.order_by().values_list(key, value)


@prepared
def _token_users(*, digests: list[str], now):
    return _unexpired(AuthToken, "digest", "user_id", "expiry", digests, now)


@prepared
def _sessions(*, keys: list[str], now):
    from django.contrib.sessions.models import Session

    return _unexpired(Session, "session_key", "session_data", "expire_date", keys, now)
