"""The chunked check of a range of sealed entries: the fast path of ``verify_range``.

It answers only "all good" (a ``RangeResult``) or "look closer" (``None``); the
entry-by-entry walk in ``audit.verify_range`` then names the first bad entry, so the
two give the same verdict and this one need not say where. One loop over each
row (``audit.verify_rows``) checks its seq, its link to the row before, its hash, what
the signed checkpoints and their windows say of it (from the rows in hand, not a query
each) and, for a read, derives the ledger lines it makes; per chunk the stored ledger
lines are compared with those in one go.
"""

from __future__ import annotations

import gc

from django.db import DatabaseError, connection

from audit.verify_rows import Ledger, Rows

CHUNK = 5000


def fast_range(
    lo: int, hi: int, previous: str | None, pinned: dict[int, str], window: dict[int, str]
):
    """A ``RangeResult`` when entries ``lo``..``hi`` all verify, else ``None``."""
    collecting = gc.isenabled()
    gc.disable()  # the rows make no cycles; collections would rescan every chunk's rows
    try:
        return _fast_range(lo, hi, previous, pinned, window)
    except (ValueError, TypeError, AttributeError, DatabaseError):
        # unparsable JSON or time, unsortable items, a ledger column SQLite's json()
        # refuses: the walk names the entry
        return None
    finally:
        if collecting:
            gc.enable()


def _fast_range(lo, hi, previous, pinned, window):
    from audit.verify_range import RangeResult, _finish

    result = RangeResult(lo, hi)
    markers: list[tuple[int, str, str]] = []
    next_seq, first_id, last_id, lines = lo, None, 0, 0
    rows_of = Rows()
    said = signed_prefixes(pinned, window)
    with connection.cursor() as cursor, connection.cursor() as ledger_cursor:
        ledger = Ledger(ledger_cursor, lo, hi, CHUNK)
        cursor.execute(rows_of.sql, [lo, hi])
        while rows := cursor.fetchmany(CHUNK):
            if previous is None:
                result.first_prev = previous = rows[0][rows_of.PREV]
            # each row: its seq, its link to the one before, its hash, what was signed
            expected = rows_of.check(rows, next_seq, previous, markers, said)
            if expected is None:
                return None
            next_seq += len(rows)
            previous = rows[-1][rows_of.HASH]
            # The ledger, read in id order, goes on with exactly this chunk's lines.
            ids, stored = ledger.take_upto(next_seq - 1)
            if stored != expected:
                return None
            if ids:
                first_id = ids[0] if first_id is None else first_id
                last_id, lines = ids[-1], lines + len(ids)
        if next_seq <= hi or not ledger.exhausted():
            return None
    result.checked = hi - lo + 1
    result.last_hash = previous
    if lines:
        result.ledger = (first_id, last_id, lines)
    finished = _finish(result, markers)
    return None if finished.failure is not None else finished


# No stored hash begins with it: a seq the checkpoints say two different things of.
_CONTRADICTED = "!"


def signed_prefixes(pinned: dict[int, str], window: dict[int, str]) -> dict[int, str]:
    """What the signed checkpoints say of a range's entries: seq -> the first digits
    of its hash (an exported checkpoint's window, which covers every entry up to the
    newest exported checkpoint) or the whole hash (a checkpoint's own entry; a stored
    hash that passed its check is 64 digits, so beginning with it is being it)."""
    said = dict(window)
    for seq, digest in pinned.items():
        prefix = said.get(seq, "")
        said[seq] = digest if digest.startswith(prefix) else _CONTRADICTED
    return said
