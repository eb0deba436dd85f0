"""Liaison pages: survivor profiles, consent (record and one-step revoke), new referrals.

Each page reads through the selectors and writes through the services the API uses,
and so writes the same audit entries.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from agencies.errors import InvalidInput
from agencies.filters import AgencyFilter
from agencies.models import Role
from agencies.routes import route
from agencies.selectors import agency_directory
from agencies.web.pages import apply_errors, member_page, paginate
from consent import services as consent_services
from consent.categories import SURVIVOR_PII_FIELDS
from coordination import presenters, selectors, services
from coordination.web.forms import (
    ConsentForm,
    ErasureForm,
    ReferralForm,
    RevokeForm,
    SurvivorForm,
)

# The newest profiles offered on the new-referral form (a page can preselect any other).
CHOICES_LIMIT = 100


def _other_agencies(member, query=None):
    """The directory without the member's agency; on the new-referral page, filtered by
    the directory's own filters (need, region, language)."""
    agencies = agency_directory()
    if query is not None:
        agencies = AgencyFilter(query, queryset=agencies).qs
    return [a for a in agencies if a.pk != member.agency_id]


@route("survivors/", name="survivors")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.LIAISON)
def survivors(request):
    """The agency's survivor profiles (newest first) and the form to add one."""
    member = request.member
    form = SurvivorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survivor = consent_services.survivor_create(actor=member, data=form.service_data())
        except InvalidInput as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Profile {survivor.ref} created.")
            return redirect("web:survivor", survivor_id=survivor.pk)
    if request.method == "POST":  # invalid: the form again, nothing written, no list read
        return render(request, "web/survivors.html", {"rows": None, "form": form}, status=400)
    with transaction.atomic():
        page, following = paginate(request, selectors.survivors_of(member))
        shown = selectors.survivors_shown(member, page)
    rows = [{**presenters.survivor_shown(s), "erased": s.erased_at is not None} for s in shown]
    return render(
        request, "web/survivors.html", {"rows": rows, "form": form, "following": following}
    )


@route("survivors/<uuid:survivor_id>/", name="survivor")
@require_safe
@member_page(Role.LIAISON)
def survivor(request, survivor_id):
    """One profile of the agency (audited ``view``, all survivor categories)."""
    with transaction.atomic():
        found = selectors.access_survivor(request.member, survivor_id)
    data = presenters.survivor_shown(found)
    fields = [(name.replace("_", " "), data.get(name)) for name in SURVIVOR_PII_FIELDS]
    context = {"survivor": found, "fields": fields, "data": data, "erasure": ErasureForm()}
    return render(request, "web/survivor.html", context)


@route("survivors/<uuid:survivor_id>/erasure/", name="survivor-erasure")
@require_POST
@member_page(Role.LIAISON)
def survivor_erasure(request, survivor_id):
    """Erase the survivor's PII for good (crypto-shredding, ``services.survivor_erase``):
    a reason and an explicit confirmation, or nothing happens."""
    form = ErasureForm(request.POST)
    if not form.is_valid():
        messages.error(request, "To erase, choose the reason and confirm it cannot be undone.")
        return redirect("web:survivor", survivor_id=survivor_id)
    reason = form.cleaned_data["reason"]
    erased = services.survivor_erase(actor=request.member, survivor_id=survivor_id, reason=reason)
    messages.success(request, f"The data of {erased.ref} is erased, for good.")
    return redirect("web:survivors")


def _consents_page(request, found_survivor, form, revoke_form=None, status=200):
    member = request.member
    with transaction.atomic():
        consents = selectors.consents_shown(
            member, selectors.consents_of(member, survivor_id=found_survivor.pk)
        )
    return render(
        request,
        "web/consents.html",
        {
            "survivor": found_survivor,
            "consents": consents,
            "form": form,
            "revoke_form": revoke_form or RevokeForm(),
        },
        status=status,
    )


@route("survivors/<uuid:survivor_id>/consents/", name="consents")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.LIAISON)
def consents(request, survivor_id):
    """A survivor's consents, each revocable in one step, and the form to record one
    with the survivor's choice per recipient agency and data category."""
    member = request.member
    found = selectors.own_survivor(member, survivor_id)
    form = ConsentForm(request.POST or None, agencies=_other_agencies(member))
    if request.method == "POST":
        if form.is_valid():
            try:
                recorded = services.consent_record_many(
                    actor=member,
                    survivor_id=found.pk,
                    grants=form.grants(),
                    **form.service_fields(),
                )
            except InvalidInput as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"{len(recorded)} consent record(s) saved.")
                return redirect("web:consents", survivor_id=found.pk)
        # Invalid: the form again with its errors; nothing written, nothing else read.
        return render(
            request,
            "web/consents.html",
            {"survivor": found, "consents": None, "form": form},
            status=400,
        )
    return _consents_page(request, found, form)


@route("consents/<uuid:consent_id>/revoke/", name="consent-revoke")
@require_POST
@member_page(Role.LIAISON)
def consent_revocation(request, consent_id):
    """Revoke in one step: reason and channel; access ends at once."""
    form = RevokeForm(request.POST)
    consent = selectors.own_consent(request.member, consent_id)
    if not form.is_valid():
        messages.error(request, "To revoke, give a reason and how the survivor told you.")
        return redirect("web:consents", survivor_id=consent.survivor_id)
    try:
        services.consent_revoke(actor=request.member, consent_id=consent.pk, **form.cleaned_data)
    except InvalidInput as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, "Consent revoked. Access ended now.")
    return redirect("web:consents", survivor_id=consent.survivor_id)


@route("referrals/new/", name="referral-new")
@require_http_methods(["GET", "HEAD", "POST"])
@member_page(Role.LIAISON)
def referral_new(request):
    """Refer one of the agency's survivors to one or more agencies."""
    member = request.member
    with transaction.atomic():
        own = list(selectors.survivors_referable(member)[:CHOICES_LIMIT])
        if request.method != "POST":  # a failed POST shows the refs already read
            selectors.survivors_shown(member, own)
    form = ReferralForm(
        request.POST or None,
        initial={"survivor": request.GET.get("survivor", "")},
        survivors=own,
        agencies=_other_agencies(member, None if request.method == "POST" else request.GET),
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                referral = services.referral_create(
                    actor=member,
                    survivor_id=form.cleaned_data.pop("survivor"),
                    **form.cleaned_data,
                )
            except InvalidInput as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request, "Referral sent. It waits for consent where none covers it."
                )
                return redirect("web:referral", referral_id=referral.pk)
        return render(request, "web/referral_new.html", {"form": form}, status=400)
    finder = AgencyFilter(request.GET, queryset=agency_directory()).form
    finder.auto_id = "find_%s"  # ids apart from the referral form's region and language
    return render(request, "web/referral_new.html", {"form": form, "finder": finder})
