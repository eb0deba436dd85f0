"""The compliance dashboard page: the trail's figures (``audit.dashboard``), the
consents expiring within 30 days (``consent.grants``), drawn as charts
(``srn.charts``) with their tables, and the open access alerts, which the page's
``alerts.js`` keeps current by polling ``GET /api/v1/audit/alerts/``.

It lives in the project because it composes two apps that may not import each other
(``audit`` imports no other app); its route is behind the compliance gate
(``srn.urls``) and it checks the role again itself. One ``view`` entry per page
(``audit.dashboard.dashboard_shown``).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.shortcuts import render

from audit import dashboard
from audit.selectors import require_compliance_officer
from consent import grants
from srn import charts

EXPIRY_DAYS = 30
# Agencies drawn as their own series; the rest are summed as "other agencies".
AGENCY_SERIES = 6


def _label(day: date) -> str:
    return day.strftime("%b %d")


def _accesses_chart(figures: dashboard.Figures) -> dict:
    labels = [_label(day) for day in figures.days]
    ranked = sorted(figures.accesses, key=lambda slug: -sum(figures.accesses[slug].values()))
    series = {
        slug: [figures.accesses[slug].get(day, 0) for day in figures.days]
        for slug in ranked[:AGENCY_SERIES]
    }
    if len(ranked) > AGENCY_SERIES:
        rest = ranked[AGENCY_SERIES:]
        series["other agencies"] = [
            sum(figures.accesses[slug].get(day, 0) for slug in rest) for day in figures.days
        ]
    total = sum(sum(values) for values in series.values())
    caption = (
        f"Accesses per agency per day, last {len(figures.days)} days: {total} allowed "
        f"entries by {len(ranked)} agencies."
    )
    return {
        "chart": charts.bar_svg("Accesses per agency per day", labels, series, description=caption),
        "caption": caption,
        "headers": ["Day", *series],
        "rows": [
            [label, *(values[n] for values in series.values())] for n, label in enumerate(labels)
        ],
    }


def _per_day_chart(title: str, days: list[date], counts: dict[date, int], what: str) -> dict:
    labels = [_label(day) for day in days]
    values = [counts.get(day, 0) for day in days]
    peak = max(values, default=0)
    caption = f"{title}: {sum(values)} {what} over {len(days)} days" + (
        f", at most {peak} on one day." if peak else "."
    )
    return {
        "chart": charts.bar_svg(title, labels, {what: values}, description=caption),
        "caption": caption,
        "headers": ["Day", what],
        "rows": [[label, value] for label, value in zip(labels, values, strict=True)],
    }


def compliance_dashboard(request):
    """Charts of the trail and the consents, the chain's state, the open alerts."""
    actor = require_compliance_officer(request.member.as_actor())
    with transaction.atomic():
        figures = dashboard.dashboard_shown(actor=actor)
        expiring = grants.expiring_per_day(days=EXPIRY_DAYS)
    soon = [figures.days[-1] + timedelta(days=n) for n in range(EXPIRY_DAYS)]
    context = {
        "figures": figures,
        "charts": [
            _accesses_chart(figures),
            _per_day_chart("Refusals per day", figures.days, figures.refusals, "refusals"),
            _per_day_chart(
                "Emergency accesses per day",
                figures.days,
                figures.emergencies,
                "emergency accesses",
            ),
            _per_day_chart(
                f"Consents expiring in the next {EXPIRY_DAYS} days", soon, expiring, "consents"
            ),
        ],
        "after": max((alert.pk for alert in figures.open_alerts), default=0),
    }
    return render(request, "web/compliance_dashboard.html", context)
