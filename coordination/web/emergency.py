"""Emergency access pages: the caseworker's deliberate two steps (the form, then a page
restating what will open and for how long, then open), and the compliance officer's
review list. They call the API's services and selectors; nothing here decides access.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from agencies.errors import EmergencyAccessDisabled, InvalidInput
from agencies.models import Role
from agencies.routes import route
from agencies.selectors import agency_directory
from agencies.web.pages import apply_errors, member_page, paginate, posted_change
from coordination import emergency, presenters, selectors, services
from coordination.filters import EmergencyAccessFilter
from coordination.web.forms import CATEGORY_HELP, EmergencyAccessForm, EmergencyReviewForm


def _form_page(request, referral_id, form, status: int = 200):
    context = {"form": form, "referral_id": referral_id, "hours": settings.EMERGENCY_ACCESS_HOURS}
    return render(request, "web/emergency_form.html", context, status=status)


@route("referrals/<uuid:referral_id>/emergency-access/", name="emergency-access")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.CASEWORKER)
def emergency_access(request, referral_id):
    """Step one (GET): the form. Step two (POST): the answers restated — the
    categories, for how long, why — with the button that opens. Neither step reads
    the referral (it may be hidden from the agency) nor writes anything."""
    if not emergency.enabled():
        raise EmergencyAccessDisabled
    form = EmergencyAccessForm(request.POST or None)
    if request.method != "POST":
        return _form_page(request, referral_id, form)
    if not form.is_valid():
        return _form_page(request, referral_id, form, status=400)
    chosen = form.cleaned_data["categories"]
    context = {
        "form": form,
        "referral_id": referral_id,
        "hours": settings.EMERGENCY_ACCESS_HOURS,
        "categories": [(name, CATEGORY_HELP[name]) for name in chosen],
        "reason": dict(form.fields["reason_code"].choices)[form.cleaned_data["reason_code"]],
    }
    return render(request, "web/emergency_confirm.html", context)


@route("referrals/<uuid:referral_id>/emergency-access/open/", name="emergency-access-open")
@require_POST
@member_page(Role.CASEWORKER)
def emergency_access_open(request, referral_id):
    """Step three: open it (``services.emergency_access_open``, which audits it and
    alerts), then show the referral as it now stands."""
    form = EmergencyAccessForm(request.POST)
    if not form.is_valid():
        return _form_page(request, referral_id, form, status=400)
    try:
        opened = services.emergency_access_open(
            actor=request.member, referral_id=referral_id, **form.cleaned_data
        )
    except InvalidInput as error:
        apply_errors(form, error)
        return _form_page(request, referral_id, form, status=400)
    until = opened.expires_at.strftime("%Y-%m-%d %H:%M")
    messages.warning(
        request,
        f"Emergency access opened to you alone until {until} UTC. Compliance officers and "
        "your agency's administrator are told, and compliance will review it.",
    )
    return redirect("web:referral", referral_id=referral_id)


@route("emergency-access/", name="emergency-reviews")
@require_safe
@member_page(Role.COMPLIANCE_OFFICER)
def emergency_reviews(request):
    """Every emergency access, newest first, filtered by review status, each pending one
    with its review form; audited as one ``list`` entry, as the API's list is."""
    member = request.member
    found = EmergencyAccessFilter(
        request.GET or None, queryset=selectors.emergency_accesses(member)
    )
    if found.is_bound and not found.is_valid():
        raise InvalidInput(fields=found.errors)
    chosen = found.form.cleaned_data.get("review_status") if found.is_bound else ""
    filters = {"review_status": chosen} if chosen else {}
    with transaction.atomic():
        page, following = paginate(request, found.qs)
        shown = selectors.emergency_accesses_shown(member, page, filters)
    names = dict(agency_directory().values_list("pk", "name"))
    rows = [
        {**presenters.emergency_access_shown(item), "agency_name": names.get(item.agency_id, "")}
        for item in shown
    ]
    context = {
        "rows": rows,
        "filter_form": found.form,
        "review_form": EmergencyReviewForm(),
        "following": following,
    }
    return render(request, "web/emergency_reviews.html", context)


@route("emergency-access/<uuid:access_id>/review/", name="emergency-review")
@require_POST
@member_page(Role.COMPLIANCE_OFFICER)
def emergency_review(request, access_id):
    """Record one review: justified or unjustified, with a note."""

    def review(data):
        return services.emergency_access_review(actor=request.member, access_id=access_id, **data)

    return posted_change(
        request,
        EmergencyReviewForm(request.POST),
        review,
        lambda _review: "Review recorded.",
        invalid="A review needs a decision and a note.",
        back="web:emergency-reviews",
    )
