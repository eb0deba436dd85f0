"""Browser sessions end when idle too long (``SESSION_IDLE_MINUTES``) or too old
(``SESSION_MAX_HOURS``), whatever the member does.

The session records when its member signed in and when they last made a request of
their own. Live updates are not requests, and the page's background refreshes say so
(``BACKGROUND_HEADER``): neither keeps a session alive. A session found idle or too old
is ended like a sign-out (``services.logout_record``: audited ``logout`` with the
reason, its sockets closed) before the request goes on; pages are sent to sign-in, the
API answers 401. Every response of a live session says how many seconds it has left
(``SECONDS_LEFT_HEADER``; for the page template ``request.session_seconds_left`` and
``request.session_lifetime_left``), so the page can warn before it signs out.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponseRedirect, JsonResponse
from django.utils import timezone

from agencies import services
from agencies.errors import Unauthenticated
from agencies.selectors import membership_for

SIGNED_IN_AT = "srn_signed_in_at"
ACTIVE_AT = "srn_active_at"
# Sent by srn/static/srn/site.js on the fetches a page makes by itself.
BACKGROUND_HEADER = "X-SRN-Background"
SECONDS_LEFT_HEADER = "X-Session-Seconds-Left"
IDLE = "idle"
LIFETIME = "lifetime"
# Paths that answer machines: a 401 in JSON, never a redirect to a page.
MACHINE_PREFIXES = ("/api/", "/fhir/")


class SessionExpired(
    Unauthenticated, code="session_expired", detail="Your session has ended. Sign in again."
):
    """An idle or too old browser session."""


def idle_seconds() -> int:
    return settings.SESSION_IDLE_MINUTES * 60


def lifetime_seconds() -> int:
    return settings.SESSION_MAX_HOURS * 3600


def ended_because(session, now: float) -> str | None:
    """``idle`` or ``lifetime`` if the session is over at ``now`` (epoch seconds)."""
    signed_in_at = session.get(SIGNED_IN_AT)
    active_at = session.get(ACTIVE_AT)
    if signed_in_at is None or active_at is None:
        return None
    if now - signed_in_at >= lifetime_seconds():
        return LIFETIME
    if now - active_at >= idle_seconds():
        return IDLE
    return None


def seconds_left(session, now: float) -> int:
    """Seconds until the session ends unless the member makes a request of their own."""
    signed_in_at = session.get(SIGNED_IN_AT, now)
    active_at = session.get(ACTIVE_AT, now)
    left = min(active_at + idle_seconds(), signed_in_at + lifetime_seconds()) - now
    return max(0, int(left))


def lifetime_left(session, now: float) -> int:
    """Seconds until the session ends however active the member is."""
    return max(0, int(session.get(SIGNED_IN_AT, now) + lifetime_seconds() - now))


def session_end(request, *, reason: str) -> None:
    """Sign the session's member out: audited ``logout`` ``{"reason": …}`` and the
    sockets opened under this session closed (through ``services.logout_record``),
    then the session flushed."""
    member = membership_for(request.user)
    if member is not None:
        services.logout_record(
            member=member,
            token=None,
            session_key=request.session.session_key,
            reason=reason,
        )
    logout(request)


def _is_background(request) -> bool:
    return request.headers.get(BACKGROUND_HEADER) is not None


def _ended_response(request):
    if request.path.startswith(MACHINE_PREFIXES):
        if "Authorization" in request.headers:
            return None  # the session is over; the token the call carries decides
        response = JsonResponse(
            {"code": SessionExpired.code, "detail": SessionExpired.detail}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if request.path == settings.LOGIN_URL:
        return None  # the sign-in page itself goes on, now signed out
    return HttpResponseRedirect(settings.LOGIN_URL)


class SessionTimeoutMiddleware:
    """After ``AuthenticationMiddleware``: ends sessions that are idle or too old, and
    stamps the member's own requests as activity."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        now = timezone.now().timestamp()
        session = request.session
        key_before = session.session_key
        if SESSION_KEY in session:
            reason = ended_because(session, now)
            if reason is not None:
                session_end(request, reason=reason)
                response = _ended_response(request)
                if response is not None:
                    return response
            else:
                if not _is_background(request):
                    session[ACTIVE_AT] = now
                    session.setdefault(SIGNED_IN_AT, now)
                request.session_seconds_left = seconds_left(session, now)
                request.session_lifetime_left = lifetime_left(session, now)
        response = self.get_response(request)
        session = request.session
        if SESSION_KEY in session:
            if session.session_key != key_before:  # signed in by this very request
                session[SIGNED_IN_AT] = session[ACTIVE_AT] = now
            response[SECONDS_LEFT_HEADER] = str(seconds_left(session, now))
        return response
