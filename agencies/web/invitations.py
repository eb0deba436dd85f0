"""The pages behind an emailed link (set a password) and the one that asks for a
password-reset link. Anonymous by nature; each step goes through
``agencies.invitations`` (which audits it)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from agencies import invitations
from agencies.mfa import has_factor
from agencies.routes import route
from agencies.web import mfa
from agencies.web.pages import form_carried_out


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters, not a common password.",
    )
    confirm = forms.CharField(
        label="Password again",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("confirm"):
            self.add_error("confirm", "The two passwords differ.")
        return data


class ResetRequestForm(forms.Form):
    username = forms.CharField(max_length=150)


@route("invitations/<str:token>/", name="invitation")
@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def invitation(request, token):
    """GET: the link is checked (audited ``view`` of the invitation, or ``denied``) and
    the password form shown. POST: the link is used once."""
    if request.method != "POST":
        found = invitations.invitation_open(token=token)
        context = {"form": SetPasswordForm(), "invitation": found}
        return render(request, "web/invitation.html", context)
    form = SetPasswordForm(request.POST)
    member = form_carried_out(
        request,
        form,
        lambda data: invitations.invitation_accept(token=token, password=data["password"]),
        lambda member: (
            "Password set. Now set up your second factor."
            if _enrols(member)
            else f"Password set for {member.user.username}. Sign in."
        ),
    )
    if member is not None:
        if _enrols(member):
            # The password is set; the first sign-in completes with the enrolment.
            mfa.pending_start(request, member)
            return redirect("web:mfa-enrol")
        return redirect("web:login")
    return render(request, "web/invitation.html", {"form": form, "invitation": None}, status=400)


@route("accounts/password-reset/", name="password-reset")
@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset(request):
    """Ask for a reset link. The answer is the same whether or not the account exists."""
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "web/password_reset.html", {"form": form}, status=400)
        invitations.password_reset_request(username=form.cleaned_data["username"])
        messages.success(
            request, "If that account exists and has an email address, a link is on its way."
        )
        return redirect("web:password-reset")
    return render(request, "web/password_reset.html", {"form": form})


def _enrols(member) -> bool:
    """Where MFA is required, accepting an invitation leads into the enrolment."""
    return settings.MFA_REQUIRED and not has_factor(member.user)
