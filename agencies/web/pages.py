"""What every page shares: who may open it, how a domain error reads in HTML, and the
outbox position a page's live updates resume from.

Pages call the same services and selectors as the API; nothing here decides access.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings

from agencies.errors import Conflict, DomainError, Forbidden, InvalidInput
from agencies.models import Role
from agencies.selectors import membership_for
from audit.denials import record_denial

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
        ("web:audit-dashboard", "Dashboard"),
        ("web:audit-verify", "Chain verification"),
        ("web:audit-ledger", "Disclosure ledger"),
        ("web:emergency-reviews", "Emergency access"),
    ],
    Role.AGENCY_ADMIN: [
        ("web:members", "Members"),
        ("web:invitation-new", "Invite"),
        ("web:agency-profile", "Agency profile"),
        ("web:reports", "Reports"),
    ],
    Role.NETWORK_ADMIN: [("web:network-agencies", "Agencies"), ("web:reports", "Reports")],
}


def member_page(*roles: str):
    """A page for active members in one of ``roles``.

    Anonymous visitors go to the login page (the request's one ``denied`` entry); a
    member in another role is refused with ``Forbidden``. A domain error raised by the
    page, its services or selectors renders as an HTML page with the status the API
    would give, and a refusal leaves its one ``denied`` entry: that is
    ``srn.errors.DomainErrorPageMiddleware``, the one map from errors to HTTP.
    """

    def decorate(view):
        @wraps(view)
        @never_cache
        @csrf_protect
        def page(request, *args, **kwargs):
            member = membership_for(request.user)
            if member is None:
                record_denial(actor=None, code="not_authenticated", status=302, request=request)
                return redirect_to_login(request.get_full_path())
            request.member = member
            if roles and member.role not in roles:
                raise Forbidden
            return view(request, *args, **kwargs)

        return page

    return decorate


def apply_errors(form, error: DomainError) -> None:
    """Put a service's field errors on the form that collected the input (the service
    decided them; the form only shows them next to the right field)."""
    for name, texts in (error.fields or {}).items():
        for message in texts if isinstance(texts, list) else [texts]:
            form.add_error(name if name in form.fields else None, str(message))
    if not error.fields:
        form.add_error(None, error.detail)


def refusal_text(error: DomainError) -> str:
    """A service's refusal in one line: its field messages, else its detail."""
    problems = [" ".join(v) for v in (error.fields or {}).values()]
    return " ".join(problems) or error.detail


def form_carried_out(
    request, form, change: Callable, success: Callable[..., str], *, refusals=(InvalidInput,)
):
    """A form's POST: if the form is valid, ``change(cleaned_data)`` (one service call)
    and ``success(result)`` flashed; the result. None when the form or the service
    (with one of ``refusals``) refused: the reasons are on the form, to show again."""
    if not form.is_valid():
        return None
    try:
        result = change(form.cleaned_data)
    except refusals as error:
        apply_errors(form, error)
        return None
    messages.success(request, success(result))
    return result


def change_flashed(
    request, change: Callable, success: Callable[..., str], *, refusals=(Conflict,)
) -> None:
    """Carry out a form's ``change`` (one service call) and flash what came of it: the
    ``success`` text made from its result, or, refused with one of ``refusals``, why
    (``refusal_text``). Any other error renders as its error page."""
    try:
        result = change()
    except refusals as error:
        messages.error(request, refusal_text(error))
    else:
        messages.success(request, success(result))


def posted_change(
    request,
    form,
    change: Callable,
    success: Callable[..., str],
    *,
    invalid: str,
    back: str,
    refusals=(Conflict,),
):
    """A one-form POST that changes one thing: an invalid form flashes ``invalid``; a
    valid one carries out ``change(cleaned_data)`` as ``change_flashed`` does. Either
    way, back to the page ``back`` (a URL name)."""
    if form.is_valid():
        change_flashed(request, lambda: change(form.cleaned_data), success, refusals=refusals)
    else:
        messages.error(request, invalid)
    return redirect(back)


def render_refusable(request, template: str, context: dict, *, status: int, retry_after=None):
    """A sign-in step's page answered with ``status``; a refusal that must wait (429)
    says how long in ``Retry-After`` (seconds)."""
    response = render(request, template, context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def paginate(request, queryset) -> tuple[list, str]:
    """A page of ``queryset`` through the API's paginator (the same class and the same
    ``cursor`` parameter): its rows, and the query string of the next page ("" on the
    last). A cursor the server did not issue is bad input."""
    paginator = api_settings.DEFAULT_PAGINATION_CLASS()
    try:
        page = paginator.paginate_queryset(queryset, Request(request))
    except ValidationError as error:
        raise InvalidInput(fields=error.detail) from None
    following = paginator.get_next_link()
    return list(page or ()), urlsplit(following).query if following else ""
