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


@dataclass
class RequestState:
    """What this request has done so far, for the layers that answer it.

    ``denied_entry`` is the (pk, request id) of a ``denied`` entry written during the
    request: a refusal hook records one only if that entry did not survive (it may
    have been rolled back with the transaction it was written in). ``request`` is
    the ``HttpRequest``, read late (DRF authenticates after the middleware ran).
    """

    request: object = None
    denied_entry: tuple[int, str] | None = None


_current: ContextVar[RequestContext | None] = ContextVar("audit_request_context", default=None)
_state: ContextVar[RequestState | None] = ContextVar("audit_request_state", default=None)


def current() -> RequestContext:
    return _current.get() or RequestContext()


def state() -> RequestState:
    """This request's mutable state (a throwaway one outside a request)."""
    return _state.get() or RequestState()


def current_request_id() -> str | None:
    """The request id, or None outside a request (django-auditlog's correlation id)."""
    return current().request_id or None


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
        token = _state.set(RequestState(request=request))
        try:
            with bound(context):
                response = self.get_response(request)
        finally:
            _state.reset(token)
        response["X-Request-ID"] = context.request_id
        return response
