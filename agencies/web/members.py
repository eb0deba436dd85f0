"""Agency admin pages: the agency's members, adding one, changing a role, deactivating,
lifting a sign-in lock, resetting a second factor.
Every change goes through ``agencies.services`` (which audits it)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from agencies import selectors, services
from agencies.errors import Conflict, InvalidInput
from agencies.models import Role
from agencies.routes import route
from agencies.web.forms import MemberAddForm, MemberRoleForm
from agencies.web.pages import (
    change_flashed,
    form_carried_out,
    member_page,
    paginate,
    posted_change,
)


@route("members/", name="members")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.AGENCY_ADMIN)
def members(request):
    """A page of the agency's members, newest first (audited ``list``, as the API's; the
    API's cursor pages on), and the form to add one."""
    member = request.member
    form = MemberAddForm(request.POST or None)
    if request.method == "POST":
        if form_carried_out(
            request,
            form,
            lambda data: services.member_add(actor=member, **data),
            lambda added: f"{added.user.username} added.",
        ):
            return redirect("web:members")
        return render(request, "web/members.html", {"form": form, "rows": None}, status=400)
    with transaction.atomic():
        page, following = paginate(request, selectors.members_of(member.agency))
        rows = selectors.members_shown(member, page)
    context = {
        "form": form,
        "rows": rows,
        "following": following,
        "roles": Role.choices,
        "me": member.pk,
    }
    return render(request, "web/members.html", context)


@route("members/<int:member_id>/role/", name="member-role")
@require_POST
@member_page(Role.AGENCY_ADMIN)
def member_role(request, member_id):
    return posted_change(
        request,
        MemberRoleForm(request.POST),
        lambda data: services.member_change_role(
            actor=request.member, member_id=member_id, role=data["role"]
        ),
        lambda changed: f"{changed.user.username} is now {changed.get_role_display()}.",
        invalid="Choose one of the roles.",
        back="web:members",
        refusals=(InvalidInput, Conflict),
    )


@route("members/<int:member_id>/deactivate/", name="member-deactivate")
@require_POST
@member_page(Role.AGENCY_ADMIN)
def member_deactivate(request, member_id):
    change_flashed(
        request,
        lambda: services.member_deactivate(actor=request.member, member_id=member_id),
        lambda gone: f"{gone.user.username} deactivated; their sessions ended.",
    )
    return redirect("web:members")


@route("members/<int:member_id>/unlock/", name="member-unlock")
@require_POST
@member_page(Role.AGENCY_ADMIN)
def member_unlock(request, member_id):
    unlocked = services.member_unlock(actor=request.member, member_id=member_id)
    messages.success(request, f"{unlocked.user.username} may sign in again.")
    return redirect("web:members")


@route("members/<int:member_id>/mfa-reset/", name="member-mfa-reset")
@require_POST
@member_page(Role.AGENCY_ADMIN, Role.NETWORK_ADMIN)
def member_mfa_reset(request, member_id):
    """Agency admins from the members page; network admins from an agency's admins page
    (``agencies.services.mfa_reset`` decides who may reset whose factor)."""
    try:
        reset = services.mfa_reset(actor=request.member, member_id=member_id)
    except Conflict as error:
        messages.error(request, error.detail)
        return redirect("web:members")
    messages.success(
        request,
        f"{reset.user.username}'s second factor is removed and their sessions ended; "
        "they set up a new one at their next sign-in.",
    )
    if request.member.role == Role.NETWORK_ADMIN:
        return redirect("web:network-agency-admins", agency_id=reset.agency_id)
    return redirect("web:members")
