"""Referral pages: the liaison's outgoing list, the caseworker's inbox (both with a
table fragment that live updates re-fetch), one referral with its actions and notes.

Lists go through ``selectors.referrals_visible_to`` and are rendered by the API's
serializer (only released fields), audited as the API's list is.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from agencies.errors import Conflict, InvalidInput, NotFound
from agencies.models import Role
from agencies.selectors import agency_directory
from consent import policy
from consent.categories import SURVIVOR_PII_FIELDS
from coordination import etags, live, selectors, services, states
from coordination.api.serializers import referrals_data
from coordination.services import PreconditionFailed
from coordination.web.forms import NoteForm, TransitionForm
from coordination.web.pages import error_page, member_page

LIST_LIMIT = 100
ACTION_LABELS = {
    "accept": "Accept",
    "reject": "Decline",
    "start": "Start services",
    "hold": "Put on hold",
    "complete": "Complete",
    "cancel": "Withdraw referral",
}


def _agency_names() -> dict[int, str]:
    return dict(agency_directory().values_list("pk", "name"))


def _survivor_name(survivor: dict) -> str:
    """The name shown in a list: only what the release put in the serialised survivor."""
    parts = [survivor.get("given_name"), survivor.get("family_name")]
    return " ".join(p for p in parts if p)


def _rows(member, direction: str) -> list[dict]:
    """The newest visible referrals in one direction, serialised and audited as one
    ``list`` entry (in one transaction with the read)."""
    referrals = selectors.referrals_visible_to(member)
    if direction == "outgoing":
        referrals = referrals.filter(referring_agency_id=member.agency_id)
    else:
        referrals = referrals.exclude(referring_agency_id=member.agency_id)
    with transaction.atomic():
        page = list(referrals.order_by("-created_at", "-id")[:LIST_LIMIT])
        data, releases = referrals_data(member, page)
        selectors.audit_referral_list(member, page, releases)
    names = _agency_names()
    for row in data:
        row["survivor_name"] = _survivor_name(row["survivor"])
        row["referring_agency_name"] = names.get(row["referring_agency"], "")
        for recipient in row["recipients"]:
            recipient["agency_name"] = names.get(recipient["agency"], "")
    return data


def _list_page(request, direction: str, template: str, partial: bool):
    # Read before the data: whatever commits after it reaches the page's socket.
    seq = live.head_seq()
    rows = _rows(request.member, direction)
    context = {"rows": rows, "seq": seq, "direction": direction}
    return render(request, "web/_referral_table.html" if partial else template, context)


@require_safe
@member_page(Role.LIAISON)
def outgoing(request):
    """The agency's outgoing referrals with the statuses consent lets it see."""
    return _list_page(request, "outgoing", "web/outgoing.html", partial=False)


@require_safe
@member_page(Role.LIAISON)
def outgoing_table(request):
    return _list_page(request, "outgoing", "web/outgoing.html", partial=True)


@require_safe
@member_page(Role.CASEWORKER)
def inbox(request):
    """Incoming referrals released to the agency by an active consent."""
    return _list_page(request, "incoming", "web/inbox.html", partial=False)


@require_safe
@member_page(Role.CASEWORKER)
def inbox_table(request):
    return _list_page(request, "incoming", "web/inbox.html", partial=True)


def _actions(release, shown_statuses: list[str]) -> list[dict]:
    side = states.REFERRER if release.relation == policy.REFERRER else states.CASEWORKER
    offered = []
    for name in states.USER_ACTIONS:
        spec = states.TRANSITIONS[name]
        if spec.by == side and any(status in spec.sources for status in shown_statuses):
            offered.append({"name": name, "label": ACTION_LABELS[name], "needs": spec.needs})
    return offered


@require_safe
@member_page(Role.LIAISON, Role.CASEWORKER)
def referral(request, referral_id):
    """One referral, only its released fields, its notes and the member's actions.

    Audited once, as ``view`` with the released categories and consents (the notes
    shown are part of the same disclosure). A recipient's first read marks it
    ``received``. Missing and not released read alike: 404 with a ``denied`` entry.
    """
    member = request.member
    seq = live.head_seq()
    with transaction.atomic():
        try:
            found, release = selectors.access_referral(member, referral_id)
        except NotFound as error:
            # Caught inside the transaction so that the denial entry commits.
            denied = error
        else:
            denied = None
            data = referrals_data(member, [found])[0][0]
            notes = selectors.notes_visible(member, found, release)
            etag = etags.referral_etag(found, member.agency_id)
    if denied is not None:
        return error_page(request, denied)
    names = _agency_names()
    for recipient in data["recipients"]:
        recipient["agency_name"] = names.get(recipient["agency"], "")
    survivor = data["survivor"]
    released = [
        (name.replace("_", " "), survivor[name]) for name in SURVIVOR_PII_FIELDS if name in survivor
    ]
    context = {
        "referral": data,
        "referral_id": found.pk,
        "referring_agency_name": names.get(found.referring_agency_id, ""),
        "released_fields": released,
        "narrative_released": "narrative" in data,
        "notes": [
            {
                "text": note.text,
                "at": note.created_at,
                "agency": names.get(note.author_agency_id, ""),
                "own": note.author_agency_id == member.agency_id,
            }
            for note in notes
        ],
        "actions": _actions(release, [r["status"] for r in data["recipients"]]),
        "etag": etag,
        "seq": seq,
        "note_form": NoteForm(),
        "is_referrer": release.relation == policy.REFERRER,
    }
    return render(request, "web/referral.html", context)


@require_POST
@member_page(Role.LIAISON, Role.CASEWORKER)
def referral_transition(request, referral_id):
    """Accept, decline, start, hold, complete (caseworker) or withdraw (liaison)."""
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The action could not be read; please try again.")
        return redirect("web:referral", referral_id=referral_id)
    fields = form.cleaned_data
    try:
        services.transition(
            actor=request.member,
            referral_id=referral_id,
            action=fields["action"],
            reason=fields["reason"],
            outcome=fields["outcome"],
            if_match=fields["etag"] or None,
        )
    except InvalidInput as error:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in (error.fields or {}).items())
        messages.error(request, problems or error.detail)
    except PreconditionFailed:
        messages.error(request, "The referral changed since you opened it. Please check again.")
    except Conflict as error:
        messages.error(request, error.detail)
    else:
        label = ACTION_LABELS.get(fields["action"], fields["action"])
        messages.success(request, f"Done: {label.lower()}.")
    return redirect("web:referral", referral_id=referral_id)


@require_POST
@member_page(Role.LIAISON, Role.CASEWORKER)
def referral_note(request, referral_id):
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A note needs some text (at most 2000 characters).")
        return redirect("web:referral", referral_id=referral_id)
    try:
        services.note_add(
            actor=request.member, referral_id=referral_id, text=form.cleaned_data["text"]
        )
    except InvalidInput as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, "Note added.")
    return redirect("web:referral", referral_id=referral_id)
