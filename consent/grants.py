"""The facts of consent the access rule is composed from: which active consents (valid
now, not revoked, not expired) grant which categories, to which agencies, for which
survivors. Nothing here decides what anyone may see; ``coordination.access`` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from consent.models import Consent
from srn.prepared import prepared


@dataclass
class Grant:
    """Everything the active consents for one survivor grant one agency."""

    categories: set[str] = field(default_factory=set)
    consent_ids: list[str] = field(default_factory=list)

    def add(self, consent_id, categories: Iterable[str]) -> None:
        self.categories.update(categories)
        self.consent_ids.append(str(consent_id))


def moment(at: datetime | None) -> datetime:
    return at or timezone.now()


def active_consents(*, at: datetime | None = None) -> QuerySet[Consent]:
    return Consent.objects.active_at(moment(at))


def grants_to(agency_id: int, survivor_ids: Iterable, *, at: datetime) -> dict[object, Grant]:
    """``{survivor id: Grant}``: what the survivors' active consents grant one agency
    (survivors with none are absent). One query; none, and no query compiled, for none."""
    grants: dict[object, Grant] = defaultdict(Grant)
    survivor_ids = set(survivor_ids)
    if not survivor_ids:
        return grants
    rows = _granted_to_agency(survivor_ids=survivor_ids, agency_id=agency_id, at=at)
    for survivor_id, consent_id, categories in rows:
        grants[survivor_id].add(consent_id, categories)
    return grants


@prepared
def _granted_to_agency(*, survivor_ids, agency_id: int, at: datetime) -> QuerySet:
    # Every request's access decision asks this: compiled once (``srn.prepared``).
    return (
        active_consents(at=at)
        .filter(survivor_id__in=survivor_ids, recipients=agency_id)
        .order_by()
        .values_list("survivor_id", "id", "categories")
    )


def grants_by_agency(survivor_ids: Iterable, *, at: datetime) -> dict[object, dict[int, Grant]]:
    """``{survivor id: {agency id: Grant}}`` for every agency the survivors' active
    consents name. One query."""
    found: dict = defaultdict(lambda: defaultdict(Grant))
    survivor_ids = set(survivor_ids)
    rows = _granted_by_agency(survivor_ids=survivor_ids, at=at) if survivor_ids else []
    for survivor_id, consent_id, categories, agency_id in rows:
        found[survivor_id][agency_id].add(consent_id, categories)
    return found


@prepared
def _granted_by_agency(*, survivor_ids, at: datetime) -> QuerySet:
    # Every referrer's read and every event's hearing ask this: compiled once.
    return (
        active_consents(at=at)
        .filter(survivor_id__in=survivor_ids)
        .order_by()
        .values_list("survivor_id", "id", "categories", "recipients")
    )


def granted_to(
    agency_id: int | OuterRef, *, survivor: OuterRef, at: datetime, category: str = ""
) -> QuerySet[Consent]:
    """The active consents naming ``agency_id`` for the survivor ``survivor`` refers to
    (for an ``Exists`` subquery); with ``category``, only those releasing it."""
    found = active_consents(at=at).filter(survivor_id=survivor, recipients=agency_id)
    if not category:
        return found
    # ``categories`` is a JSON list; its text holds each category quoted (portable).
    text = Cast("categories", output_field=TextField())
    return found.annotate(categories_text=text).filter(categories_text__contains=f'"{category}"')


def expiring_per_day(*, days: int, at: datetime | None = None) -> dict[date, int]:
    """How many active consents expire on each of the next ``days`` days (UTC), counted
    in SQL (the compliance dashboard's figure; counts only, no survivor)."""
    now = moment(at)
    rows = (
        active_consents(at=now)
        .filter(expires_at__lt=now + timedelta(days=days))
        .annotate(day=TruncDate("expires_at"))
        .values("day")
        .annotate(n=Count("id"))
    )
    return {row["day"]: row["n"] for row in rows}
