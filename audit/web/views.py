"""Compliance officer pages: audit search with the API's filters (and links to its
streamed export), chain verification, a survivor's disclosure ledger. Each read of
the trail is audited by the selector that makes it, as the API's is.

The pages render and validate the API's FilterSets and page with the API's cursor
class (``cursor=``), so a page and the API answer the same query alike. ``audit``
imports no other app: the gate the project passes in sets ``request.member``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings

from audit import alerts, selectors
from audit.filters import AuditEntryFilter, DisclosureFilter, applied_filters
from audit.selectors import require_compliance_officer


def _page(request, queryset) -> tuple[list, str]:
    """A page of ``queryset`` through the API's paginator (the same class, the same
    ``cursor`` and ``page_size`` parameters): its rows, and the query string of the
    next (older) page, "" on the last. A cursor the server did not issue raises DRF's
    ``ValidationError``."""
    paginator = api_settings.DEFAULT_PAGINATION_CLASS()
    rows = paginator.paginate_queryset(queryset, Request(request))
    following = paginator.get_next_link()
    return list(rows or ()), urlsplit(following).query if following else ""


def _shown_page(request, queryset, show) -> tuple[list | None, str]:
    """A page of ``queryset`` shown by ``show`` (the selector that audits it), in one
    transaction with the read, and the next page's query string; ``None`` rows for a
    cursor the server did not issue (nothing read, nothing audited)."""
    with transaction.atomic():
        try:
            page, older = _page(request, queryset)
        except ValidationError:
            return None, ""
        return show(page), older


def _invalid_cursor(request):
    detail = "This page link is not valid. Start again from the first page."
    return render(request, "web/error.html", {"code": "invalid", "detail": detail}, status=400)


def _filtered_page(request, found, template: str, rows: str, show):
    """A page of the FilterSet ``found``'s matches, shown by ``show(page)`` (the selector
    that audits it): ``(shown, older query string, None)``. Filters that do not validate
    (the form again, its ``rows`` empty) or a cursor the server did not issue read
    nothing: ``(None, "", that 400 page)``."""
    if found.is_bound and not found.is_valid():
        refused = render(request, template, {"form": found.form, rows: None}, status=400)
        return None, "", refused
    shown, older = _shown_page(request, found.qs, show)
    if shown is None:
        return None, "", _invalid_cursor(request)
    return shown, older, None


def audit_search(request):
    """Filter the trail (newest first, ``cursor`` pages back); export links stream
    every match through the API (``format=csv|json``), which audits the export."""
    actor = require_compliance_officer(request.member.as_actor())
    found = AuditEntryFilter(request.GET or None, queryset=selectors.audit_entries(actor=actor))
    shown, older, refused = _filtered_page(
        request,
        found,
        "web/audit.html",
        "entries",
        lambda page: selectors.audit_entries_shown(
            actor=actor, page=page, filters=applied_filters(found)
        ),
    )
    if refused:
        return refused
    filters = applied_filters(found)
    for entry in shown:  # codes and ids only (the recorder's contract), shown compactly
        entry.detail_text = json.dumps(entry.detail, sort_keys=True, separators=(",", ":"))
    context = {
        "form": found.form,
        "entries": shown,
        "older": older,
        "export_csv": "/api/v1/audit/entries/?" + urlencode({**filters, "format": "csv"}),
        "export_json": "/api/v1/audit/entries/?" + urlencode({**filters, "format": "json"}),
    }
    return render(request, "web/audit.html", context)


def audit_verify(request):
    """Recompute the chain against the stored signed checkpoints (audited ``verify``)."""
    actor = require_compliance_officer(request.member.as_actor())
    result = selectors.audit_chain_verified(actor=actor)
    return render(request, "web/audit_verify.html", {"result": result})


def audit_ledger(request):
    """A survivor's disclosure ledger (``audit.selectors.disclosure_ledger`` narrowed
    by ``DisclosureFilter``): every disclosure of their data to another agency, its
    categories and the authorising consents. Each page read is audited
    (``ledger_shown``), as the API's is; the empty form reads nothing."""
    actor = require_compliance_officer(request.member.as_actor())
    found = DisclosureFilter(request.GET or None, queryset=selectors.disclosure_ledger(actor=actor))
    if not found.is_bound:
        return render(request, "web/audit_ledger.html", {"form": found.form, "lines": None})
    ref = found.form.cleaned_data["survivor_ref"] if found.is_valid() else ""
    shown, older, refused = _filtered_page(
        request,
        found,
        "web/audit_ledger.html",
        "lines",
        lambda page: selectors.ledger_shown(actor=actor, survivor_ref=ref, page=page),
    )
    if refused:
        return refused
    context = {
        "form": found.form,
        "lines": shown,
        "survivor_ref": ref,
        "older": older,
        "export_json": "/api/v1/audit/ledger/?" + urlencode(applied_filters(found)),
    }
    return render(request, "web/audit_ledger.html", context)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        max_length=alerts.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you found and what was done. Never a survivor's details.",
    )


def alert_review(request, alert_id):
    """One access alert (audited ``view``) and, while open, the form that acknowledges
    it with a note (``alerts.alert_acknowledge``, audited)."""
    actor = require_compliance_officer(request.member.as_actor())
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                alerts.alert_acknowledge(
                    actor=actor, alert_id=alert_id, note=form.cleaned_data["note"]
                )
            except alerts.AlertAlreadyAcknowledged as error:
                messages.error(request, str(error.detail))
            else:
                messages.success(request, f"Alert #{alert_id} acknowledged.")
            return redirect("web:audit-dashboard")
        alert = alerts.alert_shown(actor=actor, alert_id=alert_id)
        return render(request, "web/audit_alert.html", {"alert": alert, "form": form}, status=400)
    alert = alerts.alert_shown(actor=actor, alert_id=alert_id)
    return render(request, "web/audit_alert.html", {"alert": alert, "form": form})
