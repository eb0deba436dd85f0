"""The chunked check of a range of sealed entries: the fast path of ``verify_range``.

It answers only "all good" (a ``RangeResult``) or "look closer" (``None``); the
entry-by-entry walk in ``audit.verify_range`` then names the first bad entry, so the
two give the same verdict and this one need not say where. Per chunk of rows it checks
in bulk what needs no per-row Python (the seqs run on, each ``prev_hash`` is its
predecessor's ``hash``, the hashes the signed checkpoints and their windows name —
from the rows in hand, not a query each —, the disclosure ledger line for line); per
row it does only the hash: the canonical bytes (orjson, byte-identical to
``audit.chain.canonical_bytes``, tests/audit/test_canonical.py) of the stored values,
with the time read as text (SQLite's stored text; PostgreSQL's formatted in UTC by the
server) instead of converted to a datetime and back. A row whose hash differs is tried
with the definition before the range is handed to the walk.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
from operator import itemgetter

import orjson
from django.db import connection

from audit.chain import HASHED_FIELDS
from audit.ledger import LEDGER_FIELDS, READS, disclosed
from audit.models import AuditEntry, Disclosure

CHUNK = 5000
# The row loop addresses the columns by position: the hashed fields in their order,
# then field_changes, prev_hash, hash (``audit.verify_range.COLUMNS``).
_COLUMN = {name: position for position, name in enumerate(HASHED_FIELDS)}
_FIELD_CHANGES = len(HASHED_FIELDS)
# The ledger's JSON columns, by position in a stored line (``id`` first, then
# ``audit.ledger.LEDGER_FIELDS``).
_LEDGER_JSON = tuple(
    LEDGER_FIELDS.index(name) + 1 for name in ("categories", "consent_ids", "emergency_access_ids")
)
# A ledger line repeats its entry's seq, time, action, object type and actor (in this
# order, ``audit.ledger.LEDGER_FIELDS``), then names one disclosed survivor.
_COMMON = itemgetter(
    *(
        HASHED_FIELDS.index("seq" if name == "entry_seq" else name)
        for name in LEDGER_FIELDS[: LEDGER_FIELDS.index("object_id")]
    )
)
_READ_ACTIONS = frozenset(str(action) for action in READS)
_SORTED = orjson.OPT_SORT_KEYS
_SHORT = 64  # JSON texts up to this length are parsed once and remembered


# The time as text, not a datetime the row loop would only format back: SQLite's
# stored text; PostgreSQL's instant already in the canonical form (UTC, microseconds).
_AT_TEXT = {
    "sqlite": "CAST({} AS TEXT)",
    "postgresql": """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
}


def _columns(names) -> str:
    quote = connection.ops.quote_name
    at = _AT_TEXT.get(connection.vendor, "{}")
    return ", ".join(at.format(quote(n)) if n == "at" else quote(n) for n in names)


def _select(table: str, names, key: str, order: str) -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT {_columns(names)} FROM {quote(table)} "  # noqa: S608 (names are ours)
        f"WHERE {quote(key)} BETWEEN %s AND %s ORDER BY {quote(order)}"
    )


class _Parsed(dict):
    """Stored JSON text -> its value, remembered for short texts (``[]``, ``{}`` and
    the few category lists recur on most rows). The values are never mutated."""

    def __missing__(self, text):
        value = orjson.loads(text)
        if len(text) <= _SHORT and len(self) < 10_000:
            self[text] = value
        return value

    def of(self, value):
        return self[value] if type(value) is str else value


class _Ledger:
    """The stored ledger lines of a range's entries, in id order, as (id, *fields),
    taken a chunk at a time."""

    def __init__(self, cursor, lo: int, hi: int, parsed: _Parsed):
        sql = _select(Disclosure._meta.db_table, ("id", *LEDGER_FIELDS), "entry_seq", "id")
        cursor.execute(sql, [lo, hi])
        self.cursor, self.rows, self.at, self.parsed = cursor, [], 0, parsed

    def _more(self) -> bool:
        # The time stays as stored: the entry's own stored time is what it must equal
        # (written from the same value); any other spelling goes to the walk.
        rows = self.cursor.fetchmany(CHUNK)
        of = self.parsed.of
        self.rows = [
            tuple(of(v) if i in _LEDGER_JSON else v for i, v in enumerate(row)) for row in rows
        ]
        self.at = 0
        return bool(rows)

    def take_upto(self, seq: int) -> list[tuple]:
        """The next lines while their entry is ``seq`` or before it."""
        taken = []
        while True:
            if self.at == len(self.rows) and not self._more():
                return taken
            line = self.rows[self.at]
            if line[1] > seq:
                return taken
            taken.append(line)
            self.at += 1

    def exhausted(self) -> bool:
        return self.at == len(self.rows) and not self._more()


def fast_range(
    lo: int, hi: int, previous: str | None, pinned: dict[int, str], window: dict[int, str]
):
    """A ``RangeResult`` when entries ``lo``..``hi`` all verify, else ``None``."""
    collecting = gc.isenabled()
    gc.disable()  # the rows make no cycles; collections would rescan every chunk's rows
    try:
        return _fast_range(lo, hi, previous, pinned, window)
    except (ValueError, TypeError, AttributeError):
        return None  # unparsable JSON or time, unsortable items: the walk names the entry
    finally:
        if collecting:
            gc.enable()


def _fast_range(lo, hi, previous, pinned, window):
    from audit.verify_range import COLUMNS, RangeResult, _finish, _reference_hash, canonical_at

    result = RangeResult(lo, hi)
    sql = _select(AuditEntry._meta.db_table, COLUMNS, "seq", "seq")
    markers: list[tuple[int, str, str]] = []
    sha256, dumps, parsed = hashlib.sha256, orjson.dumps, _Parsed()
    next_seq, first_id, last_id, lines = lo, None, 0, 0
    seq_i, at_i, ip_i = _COLUMN["seq"], _COLUMN["at"], _COLUMN["client_ip"]
    categories_i, consents_i, detail_i = (
        _COLUMN["categories"],
        _COLUMN["consent_ids"],
        _COLUMN["detail"],
    )
    outcome_i, action_i, request_i = _COLUMN["outcome"], _COLUMN["action"], _COLUMN["request_id"]
    object_i, ref_i = _COLUMN["object_id"], _COLUMN["survivor_ref"]
    signed = _Signed(lo, hi, pinned, window)
    with connection.cursor() as cursor, connection.cursor() as ledger_cursor:
        ledger = _Ledger(ledger_cursor, lo, hi, parsed)
        cursor.execute(sql, [lo, hi])
        while rows := cursor.fetchmany(CHUNK):
            count = len(rows)
            if [row[seq_i] for row in rows] != list(range(next_seq, next_seq + count)):
                return None
            if previous is None:
                result.first_prev = previous = rows[0][-2]
            if [row[-2] for row in rows] != [previous, *(row[-1] for row in rows[:-1])]:
                return None
            expected: list[tuple] = []
            for row in rows:
                at = row[at_i]
                if type(at) is not str or len(at) != 27 or at[10] != "T" or at[26] != "Z":
                    if type(at) is str and len(at) == 26 and at[10] == " ":
                        at = f"{at[:10]}T{at[11:]}Z"  # SQLite's text, made canonical
                    else:
                        at = canonical_at(at)
                categories, consent_ids, detail = row[categories_i], row[consents_i], row[detail_i]
                if type(categories) is str:
                    categories = parsed[categories]
                if type(consent_ids) is str:
                    consent_ids = parsed[consent_ids]
                if type(detail) is str:
                    detail = parsed[detail]
                ip = row[ip_i]
                # orjson sorts the keys: the dict's order does not reach the bytes.
                payload = dict(zip(HASHED_FIELDS, row, strict=False))
                payload.update(
                    at=at,
                    categories=categories,
                    consent_ids=consent_ids,
                    detail=detail,
                    client_ip=ip if ip is None or type(ip) is str else str(ip),
                )
                field_changes = row[_FIELD_CHANGES]
                if field_changes:
                    payload["field_changes"] = field_changes
                    markers.append((row[seq_i], row[request_i], field_changes))
                digest = row[-1]
                if digest is None or (
                    sha256(previous.encode() + dumps(payload, option=_SORTED)).hexdigest() != digest
                    and _reference_hash(previous, row) != digest
                ):
                    return None
                if row[outcome_i] == "allowed" and row[action_i] in _READ_ACTIONS:
                    subjects = disclosed(row[object_i], row[ref_i], categories, consent_ids, detail)
                    if subjects:
                        # The stored time, not the canonical text: the ledger's is stored too.
                        common = _COMMON(row)
                        expected += [common + subject for subject in subjects]
                previous = digest
            if not _signed(rows, next_seq, signed):
                return None
            # The ledger, read in id order, goes on with exactly this chunk's lines.
            stored = ledger.take_upto(next_seq + count - 1)
            if [line[1:] for line in stored] != expected and not _same_lines(stored, expected):
                return None
            if stored:
                first_id = stored[0][0] if first_id is None else first_id
                last_id, lines = stored[-1][0], lines + len(stored)
            next_seq += count
        if next_seq <= hi or not ledger.exhausted():
            return None
    result.checked = hi - lo + 1
    result.last_hash = previous
    if lines:
        result.ledger = (first_id, last_id, lines)
    finished = _finish(result, markers)
    return None if finished.failure is not None else finished


def _same_lines(stored: list[tuple], expected: list[tuple]) -> bool:
    """Whether the lines are equal with their times compared as instants (a stored
    time may be spelled another way than its entry's)."""
    from audit.verify_range import canonical_at

    def canonical(line: tuple) -> tuple:
        return (line[0], canonical_at(line[1]), *line[2:])

    return [canonical(line[1:]) for line in stored] == [canonical(line) for line in expected]


class _Signed:
    """What the signed checkpoints say of a range's entries, in seq order: the whole
    hash (a checkpoint's own entry) or its first digits (an exported checkpoint's
    window, which covers every entry up to the newest exported checkpoint)."""

    def __init__(self, lo: int, hi: int, pinned: dict[int, str], window: dict[int, str]):
        said = [(seq, prefix, False) for seq, prefix in window.items() if lo <= seq <= hi]
        said += [(seq, digest, True) for seq, digest in pinned.items() if lo <= seq <= hi]
        self.said = sorted(said)
        self.seqs = [seq for seq, _, _ in self.said]


def _signed(rows: list[tuple], first: int, signed: _Signed) -> bool:
    """Whether the stored hashes of a chunk of consecutive entries from ``first`` on
    are (or begin with) what the checkpoints signed for them."""
    start = bisect.bisect_left(signed.seqs, first)
    end = bisect.bisect_right(signed.seqs, first + len(rows) - 1)
    for seq, said, whole in signed.said[start:end]:
        stored = rows[seq - first][-1]
        if (stored != said) if whole else not stored.startswith(said):
            return False
    return True
