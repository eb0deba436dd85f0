"""The second step of web sign-in, and enrolling a second factor.

After a right password, a member who needs a second factor (``agencies.mfa``) is not
signed in yet: the session only remembers, for ``PENDING_SECONDS``, whose password was
right. Every page and API call still sees an anonymous visitor. The code page (or, for a
member without a factor while MFA is required, the enrolment page) completes the sign-in
with ``login()``. Signed-in members may also enrol on their own from the enrolment page.
"""

from __future__ import annotations

from base64 import b32encode

import segno
from django import forms
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from agencies import mfa, services
from agencies.errors import (
    AlreadyEnrolled,
    InvalidInput,
    NoSignInPending,
    OtpInvalid,
    TooManyAttempts,
)
from agencies.models import Membership
from agencies.routes import route
from agencies.selectors import membership_for
from agencies.web.pages import apply_errors, render_refusable
from audit.denials import record_denial

PENDING = "srn_mfa_pending"
PENDING_SECONDS = 300


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="Six digits from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class EnrolForm(CodeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = "The six digits your authenticator app shows now."


def pending_start(request, member: Membership) -> None:
    """Remember, in a fresh session, that ``member`` gave the right password."""
    request.session.cycle_key()
    request.session[PENDING] = {"member": member.pk, "at": timezone.now().timestamp()}


def pending_member(request) -> Membership | None:
    """The usable member whose password was right within ``PENDING_SECONDS``, if any."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if timezone.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        del request.session[PENDING]
        return None
    found = Membership.objects.select_related("user", "agency").filter(pk=pending.get("member"))
    member = found.first()
    return member if member is not None and member.is_usable else None


def sign_in_next(request, member: Membership):
    """After a right password: sign in at once, or go on to the code (or enrolment)."""
    if not mfa.factor_needed(member.user):
        return _complete(request, member, factor=None)
    step = mfa.challenge_record(member=member)
    pending_start(request, member)
    return redirect("web:login-code" if step == "code" else "web:mfa-enrol")


def _complete(request, member: Membership, *, factor: mfa.Factor | None):
    _signed_in(request, member, factor=factor)
    return redirect("/")


def _signed_in(request, member: Membership, *, factor: mfa.Factor | None) -> None:
    request.session.pop(PENDING, None)
    login(request, member.user)
    services.login_record(member=member, method="session", factor=factor)


@route("accounts/login/code/", name="login-code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def code(request):
    """The code step. A wrong code answers 401 and counts against the sign-in limiter
    (429 with ``Retry-After`` once it locks), as a wrong password does."""
    member = pending_member(request)
    if member is None:
        if request.method == "POST":
            raise NoSignInPending
        return redirect("web:login")
    form = CodeForm(request.POST or None)
    status, retry_after = 200, None
    if request.method == "POST":
        if form.is_valid():
            try:
                factor = mfa.code_check(
                    request=request, member=member, code=form.cleaned_data["code"]
                )
            except OtpInvalid as wrong:
                form.add_error("code", wrong.detail)
                status = 401
            except TooManyAttempts as wait:
                request.session.pop(PENDING, None)
                form.add_error(None, wait.detail)
                status, retry_after = 429, wait.retry_after
            else:
                return _complete(request, member, factor=factor)
        else:
            status = 400
    return render_refusable(
        request, "web/login_code.html", {"form": form}, status=status, retry_after=retry_after
    )


@route("accounts/mfa/", name="mfa-enrol")
@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def enrol(request):
    """Enrol a TOTP app: GET shows the secret (QR code and text, audited ``mfa_enrol``),
    POST confirms it with a code and shows the recovery codes, once. Open to a signed-in
    member, and to a member whose password was right but who has no factor yet while MFA
    is required: confirming completes their sign-in."""
    member = membership_for(request.user)
    signing_in = member is None
    if signing_in:
        member = pending_member(request)
    if member is None:
        record_denial(actor=None, code="not_authenticated", status=302, request=request)
        return redirect("web:login")
    if signing_in and mfa.has_factor(member.user):  # they sign in with it, not enrol
        return redirect("web:login-code")
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.enrolment_confirm(member=member, code=form.cleaned_data["code"])
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            if signing_in:
                _signed_in(request, member, factor=mfa.Factor(mfa.TOTP, len(codes)))
            return render(
                request,
                "web/mfa_recovery_codes.html",
                {"codes": codes, "next": reverse("web:home")},
            )
    try:
        # A failed confirmation shows the same secret again: one enrolment, one entry.
        device = (form.is_bound and mfa.device_enrolling(member.user)) or mfa.enrolment_start(
            member=member
        )
    except AlreadyEnrolled:  # only a signed-in member: a pending one has no factor
        return render(request, "web/mfa_enrol.html", {"enrolled": True})
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "signing_in": signing_in,
    }
    return render(request, "web/mfa_enrol.html", context, status=400 if form.errors else 200)
