"""Referral pages: the liaison's outgoing list, the caseworker's inbox (both with a
table fragment that live updates re-fetch), one referral with its actions and notes.

Lists go through the API's selectors, filter and cursor, and are presented from one
access decision (only released fields), audited as the API's list is.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from agencies.errors import Conflict, InvalidInput, PreconditionFailed
from agencies.models import Role
from agencies.routes import route
from agencies.selectors import agency_directory
from agencies.web.pages import change_flashed, member_page, paginate
from consent.categories import SURVIVOR_PII_FIELDS
from coordination import access, event_stream, presenters, selectors, services, states
from coordination.filters import ReferralFilter
from coordination.web.forms import NoteForm, TransitionForm

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


def _rows(request, direction: str) -> tuple[list[dict], str]:
    """A page of the visible referrals in one direction (the API's filter and cursor),
    presented from one decision and audited as one ``list`` entry with the read."""
    member = request.member
    query = request.GET.copy()
    query["direction"] = direction
    found = ReferralFilter(query, queryset=selectors.referrals_visible_to(member), request=request)
    if not found.is_valid():
        raise InvalidInput(fields=found.errors)
    with transaction.atomic():
        page, following = paginate(request, found.qs)
        decision = selectors.referrals_shown(member, page)
    rows = presenters.referrals_shown(page, decision)
    names = _agency_names()
    for row in rows:
        row["survivor_name"] = _survivor_name(row["survivor"])
        row["referring_agency_name"] = names.get(row["referring_agency"], "")
        for recipient in row["recipients"]:
            recipient["agency_name"] = names.get(recipient["agency"], "")
    return rows, following


def _list_page(request, direction: str, template: str, partial: bool):
    # Read before the data: whatever commits after it reaches the page's socket.
    seq = event_stream.head_seq(request.member.agency_id)
    rows, following = _rows(request, direction)
    context = {"rows": rows, "seq": seq, "direction": direction, "following": following}
    return render(request, "web/_referral_table.html" if partial else template, context)


def _list_views(role: str, direction: str, at: str, doc: str):
    """A list page at ``at`` and its table at ``at + "table/"``, which the page's live
    updates re-fetch; named after the route's last segment (``inbox``, ``inbox-table``)
    and drawn from ``web/<name>.html``."""
    name = at.rstrip("/").rsplit("/", 1)[-1]

    def view(partial: bool):
        @require_safe
        @member_page(role)
        def page(request):
            return _list_page(request, direction, f"web/{name}.html", partial)

        page.__doc__ = "" if partial else doc
        return page

    page = route(at, name=name)(view(partial=False))
    return page, route(f"{at}table/", name=f"{name}-table")(view(partial=True))


outgoing, outgoing_table = _list_views(
    Role.LIAISON,
    "outgoing",
    "referrals/outgoing/",
    "The agency's outgoing referrals with the statuses consent lets it see.",
)
inbox, inbox_table = _list_views(
    Role.CASEWORKER,
    "incoming",
    "inbox/",
    "Incoming referrals released to the agency by an active consent.",
)


def _actions(release, shown_statuses: list[str]) -> list[dict]:
    side = states.REFERRER if release.relation == access.REFERRER else states.CASEWORKER
    offered = []
    for name in states.USER_ACTIONS:
        spec = states.TRANSITIONS[name]
        if spec.by == side and any(status in spec.sources for status in shown_statuses):
            offered.append({"name": name, "label": ACTION_LABELS[name], "needs": spec.needs})
    return offered


@route("referrals/<uuid:referral_id>/", name="referral")
@require_safe
@member_page(Role.LIAISON, Role.CASEWORKER)
def referral(request, referral_id):
    """One referral, only its released fields, its notes and the member's actions.

    Opened through the API's service: audited once, as ``view`` with the released
    categories and consents (the notes shown are part of the same disclosure), and a
    recipient's first read marks it ``received``. Missing and not released read alike.
    """
    member = request.member
    seq = event_stream.head_seq(member.agency_id)
    found, decision = services.referral_open(actor=member, referral_id=referral_id)
    release = decision.release(found)
    data = presenters.referral_shown(found, decision)
    notes = selectors.notes_shown(found, decision)
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
        "etag": decision.etag(found),
        "seq": seq,
        "note_form": NoteForm(),
        "is_referrer": release.relation == access.REFERRER,
    }
    return render(request, "web/referral.html", context)


def _referral_form(form_class, unreadable: str):
    """A POST from the referral's page (liaisons and caseworkers): the decorated
    ``act(request, referral_id, cleaned_data)`` runs if the ``form_class`` form reads,
    else ``unreadable`` is said; back to the referral's page either way."""

    def decorate(act):
        @require_POST
        @member_page(Role.LIAISON, Role.CASEWORKER)
        @wraps(act)
        def page(request, referral_id):
            form = form_class(request.POST)
            if form.is_valid():
                act(request, referral_id, form.cleaned_data)
            else:
                messages.error(request, unreadable)
            return redirect("web:referral", referral_id=referral_id)

        return page

    return decorate


@route("referrals/<uuid:referral_id>/transition/", name="referral-transition")
@_referral_form(TransitionForm, "The action could not be read; please try again.")
def referral_transition(request, referral_id, fields: dict) -> None:
    """Accept, decline, start, hold, complete (caseworker) or withdraw (liaison)."""
    try:
        services.referral_transition(
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


@route("referrals/<uuid:referral_id>/notes/", name="referral-note")
@_referral_form(NoteForm, "A note needs some text (at most 2000 characters).")
def referral_note(request, referral_id, fields: dict) -> None:
    change_flashed(
        request,
        lambda: services.note_add(
            actor=request.member, referral_id=referral_id, text=fields["text"]
        ),
        lambda _note: "Note added.",
        refusals=(InvalidInput,),
    )
