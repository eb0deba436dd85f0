"""What the access alerts (``audit.alert_watch``) need from agencies, which ``audit``
may not import: each agency's working hours, and who an alert is emailed to.
Connected when the project starts (``AgenciesConfig.ready``)."""

from __future__ import annotations

from collections.abc import Iterable

from agencies.models import Agency, Membership, Role
from audit.alert_watch import OfficeHours
from audit.models import Alert, AlertRule
from srn.prepared import prepared


def office_hours(agency_ids: Iterable[int]) -> dict[int, OfficeHours]:
    """The working hours of those of ``agency_ids`` that set them (one query)."""
    rows = _with_hours(agency_ids=list(agency_ids))
    return {pk: OfficeHours(start, end, zone) for pk, start, end, zone in rows}


@prepared
def _with_hours(*, agency_ids: list[int]):
    # Every sealing asks this: compiled once (``srn.prepared``).
    return (
        Agency.objects.filter(pk__in=agency_ids, hours_start__isnull=False, hours_end__isnull=False)
        .order_by()
        .values_list("pk", "hours_start", "hours_end", "timezone")
    )


def alert_recipients(alert: Alert) -> list[str]:
    """The addresses an alert goes to: every active compliance officer of an active
    agency; for an emergency access also the acting member's agency admins."""
    members = Membership.objects.filter(
        is_active=True, user__is_active=True, agency__is_active=True
    ).exclude(user__email="")
    officers = members.filter(role=Role.COMPLIANCE_OFFICER)
    chosen = officers
    if alert.rule == AlertRule.EMERGENCY_ACCESS and alert.actor_agency_id is not None:
        admins = members.filter(role=Role.AGENCY_ADMIN, agency_id=alert.actor_agency_id)
        chosen = officers | admins
    return sorted(set(chosen.values_list("user__email", flat=True)))
