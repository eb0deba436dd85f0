"""Compliance officer pages: audit search with the API's filters (and links to its
streamed export), chain verification, a survivor's disclosure ledger. Each read of
the trail is itself audited, as the API's is."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.db import transaction
from django.http import QueryDict
from django.shortcuts import render

from audit.filters import AuditEntryFilter
from audit.models import Action, AuditEntry
from audit.recorder import record
from audit.selectors import disclosure_ledger, ledger_read_record, require_compliance_officer
from audit.verify import verify_chain
from audit.web.forms import AuditSearchForm, LedgerForm

PAGE_SIZE = 50


def _filters(form: AuditSearchForm) -> dict[str, str]:
    """The form's values as the audit API's query parameters."""
    params = {}
    for name, value in form.cleaned_data.items():
        if value in (None, ""):
            continue
        params[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return params


def audit_search(request):
    """Filter the trail (newest first, ``before`` pages back); export links stream
    every match through the API (``format=csv|json``), which audits the export."""
    actor = require_compliance_officer(request.member.as_actor())
    form = AuditSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "web/audit.html", {"form": form, "entries": None}, status=400)
    params = _filters(form) if form.is_bound else {}
    query = QueryDict(mutable=True)
    query.update(params)
    entries = AuditEntryFilter(query, queryset=AuditEntry.objects.all()).qs.order_by("-seq")
    before = request.GET.get("before", "")
    if before.isdigit():
        entries = entries.filter(seq__lt=int(before))
    with transaction.atomic():
        page = list(entries[: PAGE_SIZE + 1])
        shown = page[:PAGE_SIZE]
        record(
            action=Action.LIST,
            actor=actor,
            object_type="audit_entry",
            detail={"count": len(shown), "filters": params},
        )
    for entry in shown:  # codes and ids only (the recorder's contract), shown compactly
        entry.detail_text = json.dumps(entry.detail, sort_keys=True, separators=(",", ":"))
    older = urlencode({**params, "before": shown[-1].seq}) if len(page) > PAGE_SIZE else ""
    context = {
        "form": form,
        "entries": shown,
        "older": older,
        "export_csv": "/api/v1/audit/entries/?" + urlencode({**params, "format": "csv"}),
        "export_json": "/api/v1/audit/entries/?" + urlencode({**params, "format": "json"}),
    }
    return render(request, "web/audit.html", context)


def audit_verify(request):
    """Recompute the chain against the stored signed checkpoints (audited ``verify``)."""
    actor = require_compliance_officer(request.member.as_actor())
    result = verify_chain()
    with transaction.atomic():
        record(
            action=Action.VERIFY,
            actor=actor,
            object_type="audit_chain",
            detail={"ok": result.ok, "first_bad_seq": result.first_bad_seq},
        )
    return render(request, "web/audit_verify.html", {"result": result})


def audit_ledger(request):
    """A survivor's disclosure ledger (``audit.selectors.disclosure_ledger``): every
    disclosure of their data to another agency, its categories and the authorising
    consents. Each page read is audited (``ledger_read_record``), as the API's is."""
    actor = require_compliance_officer(request.member.as_actor())
    form = LedgerForm(request.GET or None)
    if not form.is_bound:
        return render(request, "web/audit_ledger.html", {"form": form, "lines": None})
    if not form.is_valid():
        return render(request, "web/audit_ledger.html", {"form": form, "lines": None}, status=400)
    ref = form.cleaned_data["survivor_ref"]
    lines = disclosure_ledger(
        actor=actor,
        survivor_ref=ref,
        since=form.cleaned_data.get("since"),
        until=form.cleaned_data.get("until"),
    )
    before = request.GET.get("before", "")
    if before.isdigit():
        lines = lines.filter(id__lt=int(before))
    with transaction.atomic():
        page = list(lines[: PAGE_SIZE + 1])
        shown = page[:PAGE_SIZE]
        ledger_read_record(actor=actor, survivor_ref=ref, count=len(shown))
    params = _filters(form)
    older = urlencode({**params, "before": shown[-1].id}) if len(page) > PAGE_SIZE else ""
    context = {
        "form": form,
        "lines": shown,
        "survivor_ref": ref,
        "older": older,
        "export_json": "/api/v1/audit/ledger/?" + urlencode(params),
    }
    return render(request, "web/audit_ledger.html", context)
