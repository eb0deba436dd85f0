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


def by_agency(rows: Iterable[tuple]) -> dict[object, dict[int, Grant]]:
    """``{survivor id: {agency id: Grant}}`` from ``(survivor id, consent id, categories,
    agency id)`` rows of ``granted_by_agency``."""
    found: dict = defaultdict(lambda: defaultdict(Grant))
    for survivor_id, consent_id, categories, agency_id in rows:
        if agency_id is not None:
            found[survivor_id][agency_id].add(consent_id, categories)
    return found


def granted_by_agency(survivor_ids, *, at: datetime) -> QuerySet[Consent]:
    """The survivors' active consents; joined to ``recipients``, what they grant every
    agency. ``coordination.access_facts`` reads them with the emergency accesses, in one
    query, into ``by_agency``."""
    return active_consents(at=at).filter(survivor_id__in=survivor_ids).order_by()


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
