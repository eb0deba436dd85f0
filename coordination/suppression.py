"""Small-cell suppression for the de-identified reports, in plain Python.

A count below ``THRESHOLD`` (11) is never published (primary suppression). A total
beside it could still give it away — this report's total row, or the same total read
from another grouping of the same period (every grouping of the requests sums to the
same number) — and so could the rule itself, to a reader who knows it. So, in each
column that has a count below 11:

* the counts below 11 are withheld alone only when they can hide each other: at least
  two, at least 11 together, not all 1 and at least two short of all being 10 (each is
  at most 10: two 10s withheld beside a known total are 10 and 10);
* otherwise every cell holding the column's smallest count of 11 or more is withheld
  with them — all of its ties, so that no shown tie tells the hider's count;
* the column's total is not shown.

Why no withheld cell can be pinned, whatever total the reader knows: the rule reads the
column's counts, not where they stand, and of the small counts only their number and
sum. So withheld cells that swap their counts publish the same, and so do withheld
small counts that trade one between them; a withheld cell always has such a partner
(the small counts can trade; or a small count and its hider swap; or, in a column of
small counts only, the counts differ or can trade — the column of nothing but 10s has
``[9, 11, 10, …]``, whose 9 and 10s are one short of all 10s, so the 11 joins them).

Every suppressed cell reads the same (``<11``): which one is below the threshold and
which one hides it is not told. A rate is shown only when its numerator and denominator
cells both are; a duration only when the count it is computed from is.
tests/coordination/test_suppression.py holds this to a property: for every suppressed
cell there is a different table, with the same column totals, that publishes exactly
the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 11
SHOWN_AS = "<11"


def suppressed_cells(counts: Sequence[int]) -> frozenset[int]:
    """The positions of one column's cells that must not be published: every count
    below ``THRESHOLD``, and with them, unless they can hide each other, every cell
    holding the column's smallest count of ``THRESHOLD`` or more."""
    small = [count for count in counts if count < THRESHOLD]
    if not small:
        return frozenset()
    large = [count for count in counts if count >= THRESHOLD]
    below = THRESHOLD if not large or _hide_each_other(small) else min(large) + 1
    return frozenset(index for index, count in enumerate(counts) if count < below)


def _hide_each_other(small: Sequence[int]) -> bool:
    """Whether the counts below ``THRESHOLD``, withheld alone, can trade counts so that
    no reader who knows their sum pins one: at least two, at least ``THRESHOLD``
    together, not all at 1 (a listed group holds one at least) and at least two short of
    all being ``THRESHOLD - 1`` (at one short, the column of nothing but
    ``THRESHOLD - 1`` would have no neighbour that reads the same)."""
    number, together = len(small), sum(small)
    return number >= 2 and max(THRESHOLD, number + 1) <= together <= (THRESHOLD - 1) * number - 2


@dataclass(frozen=True)
class Measures:
    """What a report row holds: counts, rates (numerator, denominator) and values that
    are shown only with the count they are computed from (e.g. durations)."""

    counts: tuple[str, ...]
    rates: Mapping[str, tuple[str, str]]
    follows: Mapping[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.counts, *self.rates, *self.follows)


@dataclass(frozen=True)
class PublishedRow:
    """One row as published: ``values[name]`` is ``None`` where ``name`` is suppressed."""

    group: str
    values: dict[str, float | int | None]
    suppressed: tuple[str, ...]


def _row(group: str, raw: Mapping, hidden: set[str], measures: Measures) -> PublishedRow:
    values: dict[str, float | int | None] = {}
    for name in measures.counts:
        values[name] = None if name in hidden else raw[name]
    for name, (numerator, denominator) in measures.rates.items():
        if numerator in hidden or denominator in hidden:
            hidden.add(name)
            values[name] = None
        else:
            values[name] = round(raw[numerator] / raw[denominator], 3)
    for name, count in measures.follows.items():
        if count in hidden or raw.get(name) is None:
            hidden.add(name)
            values[name] = None
        else:
            values[name] = raw[name]
    return PublishedRow(group, values, tuple(n for n in measures.names if n in hidden))


def publish(
    rows: Sequence[tuple[str, Mapping]], total: Mapping, measures: Measures
) -> tuple[list[PublishedRow], PublishedRow]:
    """The rows (``(group, raw values)``) and the total row as they may be published."""
    hidden_in_row: list[set[str]] = [set() for _ in rows]
    hidden_total: set[str] = set()
    for name in measures.counts:
        column = suppressed_cells([raw[name] for _, raw in rows])
        for index in column:
            hidden_in_row[index].add(name)
        if column or total[name] < THRESHOLD:
            hidden_total.add(name)
    published = [
        _row(group, raw, hidden, measures)
        for (group, raw), hidden in zip(rows, hidden_in_row, strict=True)
    ]
    return published, _row("total", total, hidden_total, measures)
