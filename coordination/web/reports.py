"""The network report page (network admins, agency admins): charts with their table
views, the whole table and a link to its CSV (the API's, which audits the export).

The report, its scope, its suppression and its audit entry are
``coordination.reports``'; this page only draws it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from agencies.routes import route
from agencies.web.pages import member_page
from coordination import reports

CHARTS = (
    # (title, measures drawn, what the values are)
    ("Referrals", ("referrals", "requests"), "counts"),
    ("Acceptance and decline rates", ("acceptance_rate", "decline_rate"), "shares of requests"),
    (
        "Hours from referral to acceptance",
        ("median_hours_to_acceptance", "p90_hours_to_acceptance"),
        "hours",
    ),
)


def _label(group: str) -> str:
    return (group or reports.NOT_GIVEN).replace("_", " ")


def _charts(report: reports.Report) -> tuple[list[dict], list[str]]:
    """Each chart's data, caption and table view; a withheld value is a gap in the
    chart and reads as it does in the table (``<11``). A chart whose every value is
    withheld is not drawn: its title is listed instead."""
    shown, withheld = [], []
    labels = [_label(row.group) for row in report.rows]
    by = report.group_by
    for title, names, unit in CHARTS:
        names = [name for name in names if name in report.measures.names]
        if not names:
            continue
        series = {
            name.replace("_", " "): [row.values[name] for row in report.rows] for name in names
        }
        if all(value is None for values in series.values() for value in values):
            withheld.append(title)
            continue
        rows = [
            [label, *(report.cell(name, row.values[name]) for name in names)]
            for label, row in zip(labels, report.rows, strict=True)
        ]
        # The text alternative: every value, as the table view reads it.
        values = "; ".join(
            f"{row[0]}: " + ", ".join(f"{s} {c}" for s, c in zip(series, row[1:], strict=True))
            for row in rows
        )
        shown.append(
            {
                # Drawn by the template (``srn``'s ``bar_chart`` filter: ``srn.charts``).
                "spec": {
                    "title": f"{title} by {by}",
                    "labels": labels,
                    "series": series,
                    "description": f"Bar chart of {', '.join(series)} for each {by}: {values}",
                },
                "caption": f"{title} by {by} ({unit}); withheld values are left out of the chart.",
                "headers": [by, *series],
                "rows": rows,
            }
        )
    return shown, withheld


@route("reports/", name="reports")
@require_safe
@member_page(*reports.REPORTING_ROLES)
def referral_report(request):
    """The report for ``group_by``, ``since`` and ``until`` (the API's parameters);
    a bad value is shown on the form (400), nothing read."""
    form = reports.ReportParameters(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "web/reports.html", {"form": form, "report": None}, status=400)
    params = form.cleaned_data if form.is_bound else reports.parameters({})
    report = reports.referral_report(request.member, params)
    headers, rows = report.table()
    query = {"group_by": report.group_by, "format": "csv"}
    query.update({k: params[k].isoformat() for k in ("since", "until") if params.get(k)})
    charts, withheld = _charts(report)
    context = {
        "form": form if form.is_bound else reports.ReportParameters(),
        "report": report,
        "charts": charts,
        "withheld": withheld,
        "headers": [_label(header) for header in headers],
        "rows": [[_label(row[0]), *row[1:]] for row in rows],
        "export_csv": reverse("referral-report") + "?" + urlencode(query),
    }
    return render(request, "web/reports.html", context)
