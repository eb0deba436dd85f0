"""The search parameters the face understands, checked before anything is read: a
parameter it does not know is a 400, never silently ignored (a client that filters
by something we do not support must not take the whole set for an answer)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from django.db.models import Q
from django.utils.dateparse import parse_date, parse_datetime

from agencies.errors import InvalidInput

LAST_UPDATED = "_lastUpdated"
# Paging (``_count``, and the cursor the next link carries) and the format.
PAGING = frozenset({"_count", "cursor"})
FORMAT = "_format"
FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
LOOKUPS = {"ge": "gte", "le": "lte", "gt": "gt", "lt": "lt"}
PREFIXED = re.compile(r"^(ge|le|gt|lt)(.+)$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_VALUES = 4


def check_format(params) -> None:
    """``_format`` may ask for JSON (the only format served), nothing else."""
    for value in params.getlist(FORMAT):
        if value not in FORMATS:
            raise InvalidInput(fields={FORMAT: ["Only json (application/fhir+json) is served."]})


def _bound(prefix: str, raw: str) -> tuple[str, datetime]:
    """A prefixed instant; a date alone stands for its whole UTC day."""
    day = parse_date(raw) if DATE.match(raw) else None
    if day is None:
        moment = parse_datetime(raw)
        if moment is None or moment.tzinfo is None:
            raise ValueError("not an instant with its offset")
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 text can carry.
        return LOOKUPS[prefix], moment.astimezone(UTC)
    start = datetime.combine(day, time.min, tzinfo=UTC)
    # ge/lt a day: from its start; gt/le a day: from the next day's start.
    if prefix in ("ge", "lt"):
        return LOOKUPS[prefix], start
    return ("gte" if prefix == "gt" else "lt"), start + timedelta(days=1)


def last_updated(params, field: str, *, allowed: frozenset[str] = frozenset()) -> tuple[Q, dict]:
    """The ``_lastUpdated`` filter on ``field`` (every value must hold) and the applied
    filters (for the audit entry). Any other parameter than ``_lastUpdated``, paging,
    ``_format`` and ``allowed`` is refused."""
    unknown = sorted(set(params) - {LAST_UPDATED, FORMAT, *PAGING, *allowed})
    if unknown:
        raise InvalidInput(fields={name: ["Not a supported search parameter."] for name in unknown})
    check_format(params)
    values = params.getlist(LAST_UPDATED)
    if len(values) > MAX_VALUES:
        raise InvalidInput(fields={LAST_UPDATED: [f"At most {MAX_VALUES} values."]})
    condition = Q()
    for value in values:
        match = PREFIXED.match(value)
        try:
            if match is None:
                raise ValueError("no prefix")
            lookup, moment = _bound(match.group(1), match.group(2))
        except (ValueError, OverflowError):
            raise InvalidInput(
                fields={
                    LAST_UPDATED: [
                        "Use ge, le, gt or lt and a date (2026-05-01) or an instant with "
                        "its UTC offset (2026-05-01T09:00:00Z)."
                    ]
                }
            ) from None
        condition &= Q(**{f"{field}__{lookup}": moment})
    return condition, ({LAST_UPDATED: ",".join(values)} if values else {})
