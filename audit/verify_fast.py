"""The chunked check of a range of sealed entries: the fast path of ``verify_range``.

It answers only "all good" (a ``RangeResult``) or "look closer" (``None``); the
entry-by-entry walk in ``audit.verify_range`` then names the first bad entry, so the
two give the same verdict and this one need not say where. Per chunk of rows it checks
in bulk what needs no per-row Python (the seqs run on, each ``prev_hash`` is its
predecessor's ``hash``, the hashes the signed checkpoints and their windows name —
from the rows in hand, not a query each —, the disclosure ledger line for line); per
row only the hash and, for a read, the ledger lines it makes (``audit.verify_rows``).
"""

from __future__ import annotations

import bisect
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
    seq_i, prev_i, hash_i = rows_of.SEQ, rows_of.PREV, rows_of.HASH
    signed = _Signed(lo, hi, pinned, window)
    with connection.cursor() as cursor, connection.cursor() as ledger_cursor:
        ledger = Ledger(ledger_cursor, lo, hi, CHUNK)
        cursor.execute(rows_of.sql, [lo, hi])
        while rows := cursor.fetchmany(CHUNK):
            count = len(rows)
            if [row[seq_i] for row in rows] != list(range(next_seq, next_seq + count)):
                return None
            if previous is None:
                result.first_prev = previous = rows[0][prev_i]
            if [row[prev_i] for row in rows] != [previous, *(row[hash_i] for row in rows[:-1])]:
                return None
            expected = rows_of.check(rows, previous, markers)
            if expected is None or not _signed(rows, next_seq, signed, hash_i):
                return None
            previous = rows[-1][hash_i]
            # The ledger, read in id order, goes on with exactly this chunk's lines.
            ids, stored = ledger.take_upto(next_seq + count - 1)
            if stored != expected:
                return None
            if ids:
                first_id = ids[0] if first_id is None else first_id
                last_id, lines = ids[-1], lines + len(ids)
            next_seq += count
        if next_seq <= hi or not ledger.exhausted():
            return None
    result.checked = hi - lo + 1
    result.last_hash = previous
    if lines:
        result.ledger = (first_id, last_id, lines)
    finished = _finish(result, markers)
    return None if finished.failure is not None else finished


class _Signed:
    """What the signed checkpoints say of a range's entries, in seq order: the whole
    hash (a checkpoint's own entry) or its first digits (an exported checkpoint's
    window, which covers every entry up to the newest exported checkpoint)."""

    def __init__(self, lo: int, hi: int, pinned: dict[int, str], window: dict[int, str]):
        said = [(seq, prefix, False) for seq, prefix in window.items() if lo <= seq <= hi]
        said += [(seq, digest, True) for seq, digest in pinned.items() if lo <= seq <= hi]
        self.said = sorted(said)
        self.seqs = [seq for seq, _, _ in self.said]


def _signed(rows: list[tuple], first: int, signed: _Signed, hash_i: int) -> bool:
    """Whether the stored hashes of a chunk of consecutive entries from ``first`` on
    are (or begin with) what the checkpoints signed for them."""
    start = bisect.bisect_left(signed.seqs, first)
    end = bisect.bisect_right(signed.seqs, first + len(rows) - 1)
    for seq, said, whole in signed.said[start:end]:
        stored = rows[seq - first][hash_i]
        if (stored != said) if whole else not stored.startswith(said):
            return False
    return True
