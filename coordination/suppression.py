"""Small-cell suppression for the de-identified reports, in plain Python.

A count below ``THRESHOLD`` (11) is never published (primary suppression). A total
beside it could still give it away — this report's total row, or the same total read
from another grouping of the same period (every grouping of the requests sums to the
same number) — so, in each column that has a suppressed cell:

* further cells are suppressed, smallest first, until the suppressed cells are at least
  two and sum to at least ``THRESHOLD`` (complementary suppression): whatever total is
  known, the suppressed cells can trade counts between them and publish the same;
* the column's total is not shown.

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
    """The positions of one column's cells that must not be published."""
    hidden = {index for index, count in enumerate(counts) if count < THRESHOLD}
    if not hidden:
        return frozenset()
    others = sorted((count, index) for index, count in enumerate(counts) if index not in hidden)
    while others and (len(hidden) < 2 or sum(counts[i] for i in hidden) < THRESHOLD):
        hidden.add(others.pop(0)[1])
    return frozenset(hidden)


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
