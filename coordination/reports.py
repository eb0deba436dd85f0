"""De-identified network reports: referrals counted by need, region, urgency, status or
recipient agency, with acceptance and decline rates and the time from referral to
acceptance (median and 90th percentile), small cells suppressed (``suppression``).

Who counts what is the access rule's (``access.report_statuses``): a network admin the
whole network, an agency admin their agency's own statuses and its outgoing referrals as
the referrer sees them. The figures are aggregated in SQL (``report_figures``); no row
leaves the database but the aggregates. Each report read or export writes one audit
entry, without PII.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.db import transaction

from agencies.errors import Forbidden, InvalidInput
from agencies.models import Membership, Role
from audit.filters import UtcIsoDateTimeField
from audit.models import Action
from audit.recorder import record
from coordination import access, report_figures
from coordination.models import RecipientStatus
from coordination.suppression import SHOWN_AS, Measures, PublishedRow, publish

GROUPINGS = ("need", "region", "urgency", "status", "agency")
# What a row counts: referrals, requests (one referral sent to one agency), those ever
# accepted, those declined.
FULL = Measures(
    counts=report_figures.COUNTS,
    rates={"acceptance_rate": ("accepted", "requests"), "decline_rate": ("declined", "requests")},
    follows={"median_hours_to_acceptance": "accepted", "p90_hours_to_acceptance": "accepted"},
)
# By status, acceptance and decline are the status itself.
COUNTS_ONLY = Measures(counts=("referrals", "requests"), rates={}, follows={})
MEASURES = FULL.names
REPORTING_ROLES = (Role.NETWORK_ADMIN, Role.AGENCY_ADMIN)
NOT_GIVEN = "(not given)"  # a referral without a region
WITHHELD = "withheld"  # a rate or duration computed from a withheld count


class ReportParameters(forms.Form):
    """``group_by`` (need by default), ``since`` and ``until`` (ISO 8601; referrals made
    in ``[since, until)``). The API and the page read the same parameters."""

    group_by = forms.ChoiceField(choices=[(g, g) for g in GROUPINGS], required=False)
    since = UtcIsoDateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = UtcIsoDateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            raise forms.ValidationError({"until": "until must be later than since."})
        cleaned["group_by"] = cleaned.get("group_by") or GROUPINGS[0]
        return cleaned


@dataclass(frozen=True)
class Report:
    group_by: str
    scope: str  # "network" or the agency's slug
    since: datetime | None
    until: datetime | None
    measures: Measures
    rows: list[PublishedRow]
    total: PublishedRow

    def cell(self, name: str, value) -> str:
        """A value as the page and the CSV show it: a suppressed count reads ``<11``."""
        if value is None:
            return SHOWN_AS if name in self.measures.counts else WITHHELD
        if name in self.measures.rates:
            return f"{value:.1%}"
        return str(value)

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Headers and rows (the total last), every cell as text."""
        names = self.measures.names
        rows = [
            [row.group or NOT_GIVEN, *(self.cell(name, row.values[name]) for name in names)]
            for row in [*self.rows, self.total]
        ]
        return [self.group_by, *names], rows


def parameters(data) -> dict:
    """The report's validated parameters, or ``InvalidInput`` (400, code ``invalid``)."""
    form = ReportParameters(data)
    if not form.is_valid():
        raise InvalidInput(fields={name: list(errors) for name, errors in form.errors.items()})
    return form.cleaned_data


def _scope(member: Membership) -> int | None:
    if member.role == Role.NETWORK_ADMIN:
        return None
    if member.role == Role.AGENCY_ADMIN:
        return member.agency_id
    raise Forbidden("Reports are for network admins and agency admins.")


def referral_report(member: Membership, params: dict, *, export: str = "") -> Report:
    """The de-identified referral report ``member`` may read (network admins: the
    network; agency admins: their agency; anyone else ``Forbidden``), suppressed for
    publication. Audits ``view`` (``export`` for a download, with its format) with the
    parameters and the scope; the entry commits with the read."""
    agency_id = _scope(member)
    statuses = access.report_statuses(RecipientStatus.objects.all(), agency_id)
    if params.get("since"):
        statuses = statuses.filter(referral__created_at__gte=params["since"])
    if params.get("until"):
        statuses = statuses.filter(referral__created_at__lt=params["until"])
    group_by = params["group_by"]
    measures = COUNTS_ONLY if group_by == "status" else FULL
    with transaction.atomic():
        rows, total = report_figures.figures(statuses, group_by)
        published, published_total = publish(rows, total, measures)
        scope = "network" if agency_id is None else member.agency.slug
        record(
            action=Action.EXPORT if export else Action.VIEW,
            actor=member.as_actor(),
            object_type="referral_report",
            detail={
                "group_by": group_by,
                "scope": scope,
                "since": params["since"].isoformat() if params.get("since") else "",
                "until": params["until"].isoformat() if params.get("until") else "",
                **({"format": export} if export else {}),
            },
        )
    return Report(
        group_by,
        scope,
        params.get("since"),
        params.get("until"),
        measures,
        published,
        published_total,
    )
