"""What every page shares: who may open it, how a domain error reads in HTML, and the
outbox position a page's live updates resume from.

Pages call the same services and selectors as the API; nothing here decides access.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from agencies.errors import DomainError, Forbidden, InvalidInput
from agencies.models import Role
from agencies.selectors import membership_for
from audit.denials import record_denial
from coordination.errors import REFUSAL_STATUSES, status_for

# Where each role starts, and what its navigation offers.
NAVIGATION = {
    Role.LIAISON: [
        ("web:outgoing", "Outgoing referrals"),
        ("web:survivors", "Survivors"),
        ("web:referral-new", "New referral"),
    ],
    Role.CASEWORKER: [("web:inbox", "Inbox")],
    Role.COMPLIANCE_OFFICER: [
        ("web:audit", "Audit search"),
        ("web:audit-verify", "Chain verification"),
        ("web:audit-ledger", "Disclosure ledger"),
    ],
    Role.AGENCY_ADMIN: [("web:members", "Members")],
}


# Pages load only their own static files and talk only to their own origin (the
# WebSocket included): an injected script or form target would be refused.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)


def with_csp(view):
    @wraps(view)
    def page(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return page


def member_page(*roles: str):
    """A page for active members in one of ``roles``.

    Anonymous visitors go to the login page, a member in another role gets a 403 page,
    and a domain error from a service renders as an HTML page with the status the API
    would give. Each refusal (401/403/404 and the sign-in redirect) leaves the request's
    one ``denied`` entry, as the API's refusals do.
    """

    def decorate(view):
        @wraps(view)
        @with_csp
        @never_cache
        @csrf_protect
        def page(request, *args, **kwargs):
            member = membership_for(request.user)
            if member is None:
                _refused(request, None, "not_authenticated", 302)
                return redirect_to_login(request.get_full_path())
            request.member = member
            if roles and member.role not in roles:
                _refused(request, member, Forbidden.code, 403)
                return error_page(request, Forbidden())
            try:
                return view(request, *args, **kwargs)
            except DomainError as error:
                status = status_for(error)
                if status in REFUSAL_STATUSES:
                    _refused(request, member, error.code, status)
                return error_page(request, error, status)

        return page

    return decorate


def _refused(request, member, code: str, status: int) -> None:
    """The request's one ``denied`` entry (none if an access helper already wrote
    one), as the API's refusal handler writes it."""
    record_denial(
        actor=member.as_actor() if member is not None else None,
        code=code,
        status=status,
        request=request,
    )


def error_page(request, error: DomainError, status: int | None = None):
    return render(
        request,
        "web/error.html",
        {"code": error.code, "detail": error.detail},
        status=status or status_for(error),
    )


def apply_errors(form, error: InvalidInput) -> None:
    """Put a service's field errors on the form that collected the input (the service
    decided them; the form only shows them next to the right field)."""
    for name, messages in (error.fields or {}).items():
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(name if name in form.fields else None, str(message))
    if not error.fields:
        form.add_error(None, error.detail)
