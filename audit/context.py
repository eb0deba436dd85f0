"""Where an access comes from: request id, client IP and user agent.

Set once per HTTP request (or WebSocket connection) and read by ``audit.record``, so
services need not thread the request through every call.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings

USER_AGENT_MAX = 256


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str | None = None
    user_agent: str = ""


_current: ContextVar[RequestContext | None] = ContextVar("audit_request_context", default=None)


def current() -> RequestContext:
    return _current.get() or RequestContext()


@contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(remote_addr: str | None, forwarded_for: str | None) -> str | None:
    """The client's address: X-Forwarded-For is believed only from a trusted proxy.

    Walks the forwarded chain from the right, skipping trusted proxies, and takes the
    first address that is not one of ours (the leftmost entries are client-supplied
    and trivially spoofed).
    """
    remote = _valid_ip(remote_addr or "")
    trusted = set(settings.TRUSTED_PROXIES)
    if remote is None or remote not in trusted or not forwarded_for:
        return remote
    for hop in reversed(forwarded_for.split(",")):
        address = _valid_ip(hop)
        if address is None:
            return remote
        if address not in trusted:
            return address
    return remote


def context_from_meta(meta: dict) -> RequestContext:
    """Build a context from a WSGI/ASGI environ-style mapping."""
    return RequestContext(
        request_id=uuid.uuid4().hex,
        client_ip=client_ip(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR")),
        user_agent=(meta.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX],
    )


class RequestContextMiddleware:
    """Binds the request's audit context and returns its id as ``X-Request-ID``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = context_from_meta(request.META)
        request.audit_context = context
        with bound(context):
            response = self.get_response(request)
        response["X-Request-ID"] = context.request_id
        return response
