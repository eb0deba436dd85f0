"""The referral report's raw figures, aggregated in SQL: no row leaves the database
but per-group counts and per-group histograms of the hours to acceptance.

A report is a pass or two over the recipient statuses in scope (joined to their
referral), whatever their number: the counts per group, and the number of acceptances
per group and whole hour of waiting, from which the median and the 90th percentile
are read (nearest rank, in whole hours, rounded down: exactly what sorting every wait
would give at that precision, without the sort). A referral counts under each of its
needs. Portable to SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, F, Func, IntegerField, Q, QuerySet, TextField
from django.db.models.functions import Cast

from agencies.models import Need
from coordination import states
from coordination.models import Urgency

COUNTS = ("referrals", "requests", "accepted", "declined")
# Nearest rank: the p-th percentile of n values is the ceil(p * n)-th smallest; for p
# in tenths, ceil(t * n / 10) = (t * n + 9) // 10.
PERCENTILES = {"median_hours_to_acceptance": 5, "p90_hours_to_acceptance": 9}
COLUMNS = {
    "region": F("referral__region"),
    "urgency": F("referral__urgency"),
    "status": F("seen_status"),
    "agency": F("agency__slug"),
}
# Groupings whose every choice is listed (zero counts too): a row's presence tells
# nothing. Regions and agencies are listed as found.
CHOICES = {"need": Need.values, "urgency": Urgency.values, "status": list(states.STATES)}
# Groupings that split the referrals (each falls in one group): their total is the sum.
PARTITIONS = frozenset({"region", "urgency"})
TOTAL = object()  # the total's key among need's figures (never a group's)


class HoursBetween(Func):
    """Whole hours (rounded down) from the second datetime to the first, in the
    database's own arithmetic (Django's datetime subtraction calls a Python function
    per row on SQLite)."""

    output_field = IntegerField()
    arity = 2

    def _operands(self, compiler):
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        return end, start, (*end_params, *start_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        end, start, params = self._operands(compiler)
        seconds = f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER)"
        return f"({seconds} / 3600)", params

    def as_sql(self, compiler, connection, **extra_context):
        end, start, params = self._operands(compiler)
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 3600) AS INTEGER)", params


def counts(within: Q | None = None, prefix: str = "") -> dict:
    """A row's counts as aggregates (of the statuses ``within``, if given)."""

    def where(condition: Q | None) -> dict:
        parts = [part for part in (within, condition) if part is not None]
        return {"filter": Q(*parts)} if parts else {}

    return {
        f"{prefix}referrals": Count("referral_id", distinct=True, **where(None)),
        f"{prefix}requests": Count("pk", **where(None)),
        f"{prefix}accepted": Count("pk", **where(Q(seen_accepted_at__isnull=False))),
        f"{prefix}declined": Count("pk", **where(Q(seen_status=states.REJECTED))),
    }


def percentiles(histogram: Iterable[tuple[int, int]]) -> dict[str, int]:
    """The nearest-rank percentiles of a histogram of ``(hours, how many)``; reads the
    buckets, never the rows."""
    buckets = sorted(histogram)
    size = sum(n for _, n in buckets)
    if not size:
        return {}
    found, seen = {}, 0
    ranks = {measure: (size * tenths + 9) // 10 for measure, tenths in PERCENTILES.items()}
    for hours, n in buckets:
        seen += n
        for measure, rank in ranks.items():
            if measure not in found and seen >= rank:
                found[measure] = hours
    return found


def _with_needs(statuses: QuerySet) -> QuerySet:
    # ``needs`` is a JSON list; its text holds each need quoted (portable to SQLite).
    return statuses.annotate(needs_text=Cast("referral__needs", output_field=TextField()))


def _has(need: str) -> Q:
    return Q(needs_text__contains=f'"{need}"')


def _accepted(statuses: QuerySet) -> QuerySet:
    hours = HoursBetween("seen_accepted_at", "referral__created_at")
    return statuses.filter(seen_accepted_at__isnull=False).order_by().annotate(hours=hours)


def _by_need(statuses: QuerySet) -> tuple[dict, dict, dict]:
    """Counts per set of needs in one pass (the sets split the referrals, so each
    need's counts, and the total's, are sums over the sets, distinct referrals
    included); acceptances per hour, per need and overall, in another."""
    statuses = _with_needs(statuses)
    rows = {need: dict.fromkeys(COUNTS, 0) for need in (*Need.values, TOTAL)}
    for found in statuses.order_by().values("needs_text").annotate(**counts()):
        for need in {n for n in Need.values if f'"{n}"' in found["needs_text"]} | {TOTAL}:
            for name in COUNTS:
                rows[need][name] += found[name]
    per_hour = (
        _accepted(statuses)
        .values("hours")
        .annotate(overall=Count("pk"), **{n: Count("pk", filter=_has(n)) for n in Need.values})
    )
    histograms: dict = defaultdict(list)
    for bucket in per_hour:
        for key in (*Need.values, "overall"):
            histograms[key].append((bucket["hours"], bucket[key]))
    overall = histograms.pop("overall", [])
    return rows, histograms, {"overall": overall}


def _by_column(statuses: QuerySet, group_by: str) -> tuple[dict, dict, dict]:
    """Counts per group in one pass; acceptances per group and hour in another."""
    column = COLUMNS[group_by]
    grouped = statuses.order_by().values(group=column).annotate(**counts())
    rows = {row.pop("group"): row for row in grouped}
    histograms: dict = defaultdict(list)
    overall: dict = defaultdict(int)
    if group_by != "status":  # by status, acceptance is the status itself
        per_hour = _accepted(statuses).values("hours", group=column).annotate(n=Count("pk"))
        for bucket in per_hour:
            histograms[bucket["group"]].append((bucket["hours"], bucket["n"]))
            overall[bucket["hours"]] += bucket["n"]
    return rows, histograms, {"overall": list(overall.items())}


def figures(statuses: QuerySet, group_by: str) -> tuple[list[tuple[str, dict]], dict]:
    """``(group, raw values)`` per group in a stable order, and the total's raw values."""
    total = None
    if group_by == "need":
        rows, histograms, overall = _by_need(statuses)
        total = rows.pop(TOTAL)
    else:
        rows, histograms, overall = _by_column(statuses, group_by)
    empty = dict.fromkeys(COUNTS, 0)
    listed = CHOICES.get(group_by, sorted(rows))
    result = [
        (key, {**rows.get(key, empty), **percentiles(histograms.get(key, ()))}) for key in listed
    ]
    if group_by in PARTITIONS:
        total = {name: sum(raw[name] for _, raw in result) for name in COUNTS}
    elif total is None:
        total = statuses.order_by().aggregate(**counts())
    return result, {**total, **percentiles(overall["overall"])}
