"""Browser session login and logout, through the same audited member services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from agencies import services
from agencies.errors import TooManyAttempts
from agencies.routes import route
from agencies.selectors import membership_for
from agencies.web import mfa
from agencies.web.pages import NAVIGATION, render_refusable


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(max_length=128, strip=False, widget=forms.PasswordInput)


@route("accounts/login/", name="login")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request):
    """Sign in with a session. A wrong password answers 401; a sign-in that must wait
    (``agencies.signin``, shared with the API) answers 429 with ``Retry-After``. A right
    password goes on to the second factor where one is needed (``agencies.web.mfa``)."""
    form = LoginForm(request.POST or None)
    error, status, retry_after = None, 200, None
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_authenticate(request=request, **form.cleaned_data)
        except services.InvalidCredentials as failure:
            error, status = failure.detail, 401
        except TooManyAttempts as wait:
            error, status, retry_after = wait.detail, 429, wait.retry_after
        else:
            return mfa.sign_in_next(request, member)
    context = {"form": form, "error": error}
    return render_refusable(
        request, "web/login.html", context, status=status, retry_after=retry_after
    )


@route("accounts/logout/", name="logout")
@require_POST
@csrf_protect
def logout_view(request):
    member = membership_for(request.user)
    if member is not None:
        services.logout_record(member=member, token=None)
    logout(request)
    return redirect("/accounts/login/")


@route("", name="home")
@require_safe
def home(request):
    """Each role starts on its own main page."""
    member = membership_for(request.user)
    if member is None:
        return redirect("/accounts/login/")
    return redirect(NAVIGATION[member.role][0][0])
