"""Small-cell suppression as a property: no suppressed cell can be recovered from what
is published beside it, whatever total the reader knows.

The reader sees the published column (shown cells, which cells are withheld, the total
or its absence) and knows the column's true total — it may read it from another
grouping of the same period, when that total is 11 or more. A suppressed cell is safe
when another table exists that differs in that cell, keeps every cell a possible count
(at least ``low``: 1 where a row's presence tells the group exists) and that total, and
publishes exactly the same.
"""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from coordination.suppression import (
    THRESHOLD,
    Measures,
    PublishedRow,
    publish,
    suppressed_cells,
)

COUNTS = Measures(counts=("n",), rates={}, follows={})
RATED = Measures(
    counts=("requests", "accepted"),
    rates={"rate": ("accepted", "requests")},
    follows={"median": "accepted"},
)


def _published(column: list[int], suppress=publish):
    rows, total = suppress(
        [(str(i), {"n": n}) for i, n in enumerate(column)], {"n": sum(column)}, COUNTS
    )
    return [row.values for row in rows], total.values


def _twins(column: list[int], cell: int):
    """Columns that differ in ``cell``: counts moved between it and another cell (the
    total kept; up to 22 either way, or all of them), and, while the total is below 11
    (no grouping can reveal it), the cell alone moved by one, the total still below 11."""
    for other in range(len(column)):
        # Moving every count across (a swap) included: a complementary cell is the
        # smallest shown, which may leave a small cell only that one other value.
        swap = column[other] - column[cell]
        for shift in [*range(-2 * THRESHOLD, 2 * THRESHOLD + 1), swap]:
            if other != cell and shift:
                twin = list(column)
                twin[cell] += shift
                twin[other] -= shift
                yield twin
    if sum(column) < THRESHOLD:
        for shift in (-1, 1):
            twin = list(column)
            twin[cell] += shift
            if sum(twin) < THRESHOLD:
                yield twin


def _twin(column: list[int], cell: int, low: int, suppress=publish) -> list[int] | None:
    """A column the reader cannot tell from ``column`` that differs in ``cell``."""
    seen = _published(column, suppress)
    for twin in _twins(column, cell):
        if min(twin) >= low and _published(twin, suppress) == seen:
            return twin
    return None


# A third of the counts are drawn at 9 to 12: a rule slips where the withheld counts are
# all 10, or where the count that hides them is tied with a shown one ([10, 10, 50],
# [12, 12, 10]), which draws up to 200 rarely give. With 400 examples the property
# found the previous rule's flaw in 100 runs out of 100 (with 100 uniform draws: 5 in 20).
NEAR = st.integers(THRESHOLD - 2, THRESHOLD + 1)
columns = st.lists(
    st.one_of(NEAR, st.integers(0, 2 * THRESHOLD), st.integers(0, 200)), min_size=1, max_size=7
)


def _assert_no_withheld_cell_is_pinned(column: list[int], low: int) -> None:
    hidden = suppressed_cells(column)
    shown, total = _published(column)
    for index in hidden:
        assert shown[index]["n"] is None
        assert _twin(column, index, low) is not None, (column, index)
    assert (total["n"] is None) == bool(hidden)


@settings(max_examples=400, deadline=None)
@given(columns, st.sampled_from([0, 1]))
@example([0, THRESHOLD], 0)
@example([THRESHOLD - 1, THRESHOLD], 1)
@example([0, 0, 50], 0)
@example([1], 1)
@example([5, 12, 40, 40], 0)
@example([10, 33, 33], 0)
# The rules before this one let a reader who knows the total pin these:
@example([10, 10, 10, 10], 0)  # all below 11: each is 10
@example([10, 10, 10, 10, 50], 1)  # the four withheld alone sum to 40
@example([10, 10, 50], 0)
@example([12, 12, 10], 0)  # the hider tied with a shown 12
@example([11, 11, 8], 0)
@example([11, 11, 0], 1)
def test_no_suppressed_cell_can_be_recovered_from_the_totals(column, low):
    _assert_no_withheld_cell_is_pinned([max(n, low) for n in column], low)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=THRESHOLD, max_size=THRESHOLD + 3),
    st.lists(st.integers(THRESHOLD, 60), min_size=1, max_size=2),
)
@example([1] * THRESHOLD, [40])
def test_many_listed_groups_of_one_are_not_pinned_by_their_floor(small, large):
    # Regions and agencies are listed as found (each at least 1): eleven 1s withheld
    # alone would sum to 11 and be pinned at 1 each. (A column of 1s alone, with no
    # larger count to hide them, is pinned by its listing whatever is withheld.)
    _assert_no_withheld_cell_is_pinned(small + large, 1)


@given(columns)
def test_every_count_below_11_is_withheld_and_beside_it_only_the_smallest_larger_count(column):
    hidden = suppressed_cells(column)
    small = [n for n in column if n < THRESHOLD]
    larger = [n for n in column if n >= THRESHOLD]
    assert {i for i, n in enumerate(column) if n < THRESHOLD} <= hidden
    if not small:
        assert not hidden
    # The counts below 11 are withheld alone when they can trade counts and no reader
    # who knows their sum pins one; otherwise every cell holding the smallest larger
    # count joins them (all of its ties: a shown tie would tell the hider's count).
    alone = (
        len(small) >= 2
        and sum(small) >= THRESHOLD
        and sum(small) > len(small)
        and sum(small) <= (THRESHOLD - 1) * len(small) - 2
    )
    joined = {i for i, n in enumerate(column) if n >= THRESHOLD and i in hidden}
    if small and larger and not alone:
        assert joined == {i for i, n in enumerate(column) if n == min(larger)}
    else:
        assert not joined


@given(columns.flatmap(lambda c: st.tuples(st.just(c), st.permutations(range(len(c))))))
def test_the_rule_reads_the_counts_not_where_they_stand(column_and_order):
    # Why the property holds: withheld cells that swap their counts publish the same.
    column, order = column_and_order
    hidden = suppressed_cells(column)
    assert suppressed_cells([column[i] for i in order]) == {
        place for place, i in enumerate(order) if i in hidden
    }


@given(
    st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 60)).map(lambda t: (max(t), min(t))),
        min_size=1,
        max_size=6,
    )
)
def test_rates_and_durations_show_only_with_the_counts_they_come_from(pairs):
    rows = [
        (str(i), {"requests": r, "accepted": a, "median": 1.0 if a else None})
        for i, (r, a) in enumerate(pairs)
    ]
    total = {"requests": sum(r for r, _ in pairs), "accepted": sum(a for _, a in pairs)}
    published, published_total = publish(rows, {**total, "median": 1.0}, RATED)
    for row in [*published, published_total]:
        values = row.values
        if values["rate"] is not None:
            assert values["requests"] is not None
            assert values["accepted"] is not None
            assert values["requests"] >= THRESHOLD
            assert values["accepted"] >= THRESHOLD
        if values["median"] is not None:
            assert values["accepted"] is not None
            assert values["accepted"] >= THRESHOLD
        assert set(row.suppressed) == {name for name, value in values.items() if value is None}


def _primary_only(rows, total, measures):
    """Suppression without its complement: each small count alone, the total shown."""
    published = [
        PublishedRow(g, {"n": None if raw["n"] < THRESHOLD else raw["n"]}, ()) for g, raw in rows
    ]
    return published, PublishedRow("total", dict(total), ())


def test_the_property_catches_a_suppression_that_a_total_undoes():
    # 5 beside 40 with their total 45 shown: the 5 is 45 - 40.
    assert _twin([5, 40], 0, 0, suppress=_primary_only) is None
    assert _twin([5, 40], 0, 0) is not None
