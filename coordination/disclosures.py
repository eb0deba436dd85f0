"""The survivor's disclosure report (DESIGN.md, The survivor's rights): every time
their data reached another agency — when, which agency, which categories, under which
consents or emergency accesses — read from the disclosure ledger (``audit.ledger``),
for the owner agency to hand to the survivor (``GET /api/v1/survivors/{id}/disclosures/``
and a printable page in the survivor's language).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from agencies.models import Agency, Membership
from audit import selectors as audit_selectors
from audit.ledger import EMERGENCY
from audit.models import Action, Disclosure
from audit.recorder import record
from consent.models import Survivor
from coordination import selectors
from coordination.models import EmergencyAccess


def report_lines(member: Membership, survivor_id) -> tuple[Survivor, QuerySet[Disclosure]]:
    """The survivor (the member's agency's own, else ``NotFound`` as for a missing one)
    and their ledger lines at other agencies, oldest first; not audited until shown."""
    survivor = selectors.own_survivor(member, survivor_id)
    lines = audit_selectors.disclosures_to_others(
        survivor_ref=survivor.ref, owner_agency_id=member.agency_id
    )
    return survivor, lines


def report_shown(member: Membership, survivor: Survivor, page) -> list[dict]:
    """A page of the report is shown: one ``view`` entry of ``disclosure_report`` for the
    survivor (its size; no PII, the report holds none), and the lines presented."""
    page = list(page)
    record(
        action=Action.VIEW,
        actor=member.as_actor(),
        object_type="disclosure_report",
        object_id=survivor.pk,
        survivor_ref=survivor.ref,
        detail={"count": len(page)},
    )
    return _presented(page)


def _presented(page: list[Disclosure]) -> list[dict]:
    names = dict(
        Agency.objects.filter(pk__in={line.actor_agency_id for line in page}).values_list(
            "pk", "name"
        )
    )
    opened = {str(pk): reason for pk, reason in _emergency_reasons(page).items()}
    return [
        {
            "at": line.at,
            "agency": line.actor_agency_id,
            "agency_name": names.get(line.actor_agency_id, line.actor_agency),
            "categories": sorted(line.categories),
            "basis": line.basis,
            "consents": sorted(line.consent_ids),
            "emergency_accesses": [
                {"id": found, "reason_code": opened.get(found, "")}
                for found in sorted(line.emergency_access_ids)
            ],
        }
        for line in page
    ]


def _emergency_reasons(page: list[Disclosure]) -> dict:
    ids = {found for line in page if line.basis == EMERGENCY for found in line.emergency_access_ids}
    if not ids:
        return {}
    return dict(EmergencyAccess.objects.filter(pk__in=ids).values_list("pk", "reason_code"))


def report_language(survivor: Survivor, requested: str | None = None) -> str:
    """The report's language: one asked for, else the survivor's preferred language
    (its primary subtag, ``es-MX`` reads ``es``), else English."""
    supported = [code for code, _ in settings.LANGUAGES]
    for candidate in (requested or "", survivor.preferred_language or ""):
        primary = candidate.strip().lower().split("-")[0]
        if primary in supported:
            return primary
    return settings.LANGUAGE_CODE
