"""How the chunked check (``audit.verify_fast``) reads a range's rows and its ledger.

``Rows``: the raw columns of each entry (the time as text), hashed per row — the
canonical bytes by orjson (byte-identical to ``audit.chain.canonical_bytes``,
tests/audit/test_canonical.py), the definition as the fallback — and, for an allowed
read, the ledger lines ``audit.ledger.disclosed`` derives from the entry's values.

``Ledger``: the stored lines read joined to their entries. The database compares the
columns a line repeats from its entry (time, action, object type, actor) and whether
the survivor's columns are the entry's own (a copy, sent as NULL); the others come as
one JSON array, parsed in one call. A line the database finds different is compared
again here with its times as instants (one query, rare) and, if it still differs, the
range goes to the walk.
"""

from __future__ import annotations

import hashlib

import orjson
from django.db import connection

from audit.ledger import LEDGER_FIELDS, READS, SUBJECT_FIELDS, disclosed
from audit.models import AuditEntry, Disclosure

_SORTED = orjson.OPT_SORT_KEYS
_SHORT = 64  # JSON texts up to this length are parsed once and remembered
_READ_ACTIONS = frozenset(str(action) for action in READS)
# The time as text, not a datetime the row loop would only format back: SQLite's
# stored text; PostgreSQL's instant already in the canonical form (UTC, microseconds).
_AT_TEXT = {
    "sqlite": "CAST({} AS TEXT)",
    "postgresql": """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
}
_SAME = {"sqlite": "{} IS {}", "postgresql": "{} IS NOT DISTINCT FROM {}"}
# What a ledger line repeats from its entry (``audit.ledger.LEDGER_FIELDS`` up to the
# survivor's columns), and the survivor's columns (``disclosed``'s, in its order, which
# ``Ledger.take_upto`` unpacks: tests/audit/test_verify_fast.py holds the two alike).
_REPEATED = LEDGER_FIELDS[1 : LEDGER_FIELDS.index("object_id")]
_SUBJECT = SUBJECT_FIELDS


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _range_sql(table: str, expressions: str, key: str, order: str) -> str:
    return (
        f"SELECT {expressions} FROM {quote(table)} "  # noqa: S608 (names are ours)
        f"WHERE {quote(key)} BETWEEN %s AND %s ORDER BY {quote(order)}"
    )


class Parsed(dict):
    """Stored JSON text -> its value, remembered for short texts (``[]``, ``{}`` and
    the few category lists recur on most rows). The values are never mutated."""

    def __init__(self):
        super().__init__({"[]": [], "{}": {}})

    def __missing__(self, text):
        value = orjson.loads(text)
        if len(text) <= _SHORT and len(self) < 10_000:
            self[text] = value
        return value

    def of(self, value):
        return self[value] if type(value) is str else value


def canonical_at(value) -> str:
    from audit.verify_range import canonical_at as canonical

    return canonical(value)


class Rows:
    """Entries as ``audit.verify_range.COLUMNS``: the hashed fields, field_changes,
    prev_hash, hash."""

    PREV, HASH = -2, -1

    def __init__(self):
        from audit.verify_range import COLUMNS

        at = _AT_TEXT.get(connection.vendor, "{}")
        names = ", ".join(at.format(quote(n)) if n == "at" else quote(n) for n in COLUMNS)
        self.sql = _range_sql(AuditEntry._meta.db_table, names, "seq", "seq")
        self.parsed = Parsed()

    def check(
        self, rows: list[tuple], seq: int, previous: str, markers: list, said: dict[int, str]
    ) -> list[tuple] | None:
        """The expected ledger lines of a chunk of entries from ``seq`` on, after
        ``previous``, whose links and hashes all match and begin with what the
        checkpoints signed (``said``), else None."""
        from audit.verify_range import _reference_hash

        return _plain(rows, seq, previous, markers, self.parsed, _reference_hash, said)


# A ledger line that repeats its entry's survivor columns as they are (the entry's own
# survivor under consent): Python's expected line and the database's verdict on the
# stored one both say so with this mark instead of the values.
COPY = ("copy",)
_CONSENT, _NONE = "consent", []


def _plain(rows, next_seq, previous, markers, parsed, reference, said):
    """The expected ledger lines of consecutive rows from ``next_seq`` on, each linked
    to the one before, whose hashes all match and begin with what was signed, else
    None. Each row is unpacked in ``COLUMNS`` order and its hashed fields named in a
    dict display (tests/audit/test_verify_fast.py and test_verify_rows.py hold both to
    ``audit.chain``: a field missed or out of order would only send rows to the
    definition's fallback, never pass a wrong hash)."""
    sha256, dumps, loads, expected, get = hashlib.sha256, orjson.dumps, orjson.loads, [], parsed.get
    signed = said.get
    for row in rows:
        (
            seq,
            at,
            actor_user_id,
            actor_username,
            actor_agency_id,
            actor_agency,
            actor_role,
            action,
            object_type,
            object_id,
            survivor_ref,
            categories,
            consent_ids,
            outcome,
            detail,
            request_id,
            client_ip,
            user_agent,
            field_changes,
            prev_hash,
            digest,
        ) = row
        if seq != next_seq or prev_hash != previous:
            return None
        next_seq += 1
        if type(at) is not str or len(at) != 27 or at[10] != "T" or at[26] != "Z":
            if type(at) is str and len(at) == 26 and at[10] == " ":
                at = f"{at[:10]}T{at[11:]}Z"  # SQLite's text, made canonical
            else:
                at = canonical_at(at)
        # the stored JSON, parsed (recurring texts once: ``Parsed``, inlined)
        sortless = (  # stored JSON texts that hold no object: orjson's sort changes nothing
            detail == "{}"
            and type(categories) is str
            and "{" not in categories
            and type(consent_ids) is str
            and "{" not in consent_ids
        )
        if type(categories) is str:
            categories = get(categories) or parsed[categories]
        # a request's consents and a page's items are mostly its own: parsed, not kept
        if type(consent_ids) is str:
            value = get(consent_ids)
            consent_ids = loads(consent_ids) if value is None else value
        if type(detail) is str:
            value = get(detail)
            detail = loads(detail) if value is None else value
        if client_ip is not None and type(client_ip) is not str:
            client_ip = str(client_ip)
        # The display names the fields in sorted order, so orjson need not sort them
        # unless a JSON value may hold an object or field_changes (sorting mid-way) joins.
        payload = {
            "action": action,
            "actor_agency": actor_agency,
            "actor_agency_id": actor_agency_id,
            "actor_role": actor_role,
            "actor_user_id": actor_user_id,
            "actor_username": actor_username,
            "at": at,
            "categories": categories,
            "client_ip": client_ip,
            "consent_ids": consent_ids,
            "detail": detail,
            "object_id": object_id,
            "object_type": object_type,
            "outcome": outcome,
            "request_id": request_id,
            "seq": seq,
            "survivor_ref": survivor_ref,
            "user_agent": user_agent,
        }
        option = _SORTED
        if field_changes:
            payload["field_changes"] = field_changes
            markers.append((seq, request_id, field_changes))
        elif sortless:
            option = None
        if digest is None or (
            sha256(previous.encode() + dumps(payload, option=option)).hexdigest() != digest
            and reference(previous, row) != digest
        ):
            return None
        prefix = signed(seq)
        if prefix is not None and not digest.startswith(prefix):
            return None
        if outcome == "allowed" and action in _READ_ACTIONS:
            if not detail and type(categories) is list and type(consent_ids) is list:
                # ``disclosed`` of a read with no detail: its own survivor under consent
                # (a copy) or nothing (tests/audit/test_verify_rows.py holds the two alike)
                if survivor_ref and consent_ids:
                    expected.append((seq, COPY))
            else:
                for subject in disclosed(object_id, survivor_ref, categories, consent_ids, detail):
                    if subject == (
                        object_id,
                        survivor_ref,
                        categories,
                        consent_ids,
                        _CONSENT,
                        _NONE,
                    ):
                        expected.append((seq, COPY))
                    else:
                        expected.append((seq, *subject))
        previous = digest
    return expected


class LineDiffers(ValueError):
    """A ledger line does not repeat its entry's values: the walk names the entry."""


# The survivor's columns of a line as one JSON array (``_SUBJECT``'s order), which
# orjson parses in one call; SQLite's ``json()`` refuses a column that is not JSON (the
# walk then decides), PostgreSQL's jsonb columns are JSON already.
_SUBJECT_ARRAY = {
    "sqlite": "json_array(d.{}, d.{}, json(d.{}), json(d.{}), d.{}, json(d.{}))",
    "postgresql": "jsonb_build_array(d.{}, d.{}, d.{}, d.{}, d.{}, d.{})",
}


class Ledger:
    """The stored ledger lines of a range's entries, in id order, as (id, entry_seq,
    whether the repeated columns are the entry's, the survivor's columns as one JSON
    array or NULL for a copy), taken a chunk at a time; a line whose repeated columns
    the database does not find equal to its entry's is compared again here (a time may
    be spelled otherwise for the same instant)."""

    def __init__(self, cursor, lo: int, hi: int, chunk: int):
        same = _SAME.get(connection.vendor, "{} = {}")
        repeated = " AND ".join(same.format(f"d.{quote(n)}", f"e.{quote(n)}") for n in _REPEATED)
        copied = " AND ".join(
            [f"d.{quote(n)} = e.{quote(n)}" for n in _SUBJECT[:4]]
            + [f"d.{quote('basis')} = '{_CONSENT}'", f"d.{quote('emergency_access_ids')} = '[]'"]
        )
        subject = _SUBJECT_ARRAY[connection.vendor].format(*(quote(n) for n in _SUBJECT))
        expressions = ", ".join(
            [f"d.{quote(n)}" for n in ("id", "entry_seq")]
            + [f"CASE WHEN {repeated} THEN 1 ELSE 0 END"]
            + [f"CASE WHEN {copied} THEN NULL ELSE {subject} END"]
        )
        entries = AuditEntry._meta.db_table
        table = f"{quote(Disclosure._meta.db_table)} d LEFT JOIN {quote(entries)} e ON "
        table += f"e.{quote('seq')} = d.{quote('entry_seq')}"
        cursor.execute(
            f"SELECT {expressions} FROM {table} "  # noqa: S608 (names are ours)
            f"WHERE d.{quote('entry_seq')} BETWEEN %s AND %s ORDER BY d.{quote('id')}",
            [lo, hi],
        )
        self.cursor, self.rows, self.at, self.chunk = cursor, [], 0, chunk

    def _more(self) -> bool:
        self.rows, self.at = self.cursor.fetchmany(self.chunk), 0
        return bool(self.rows)

    def take_upto(self, seq: int) -> tuple[list[int], list[tuple]]:
        """The ids and lines (entry_seq, *survivor's columns, JSON parsed) of the next
        lines while their entry is ``seq`` or before it."""
        ids, lines, loads = [], [], orjson.loads
        while self.at < len(self.rows) or self._more():
            rows, start = self.rows, self.at
            end, count = start, len(rows)
            while end < count and rows[end][1] <= seq:
                end += 1
            for line_id, seq_of, same, subject in rows[start:end]:
                if not same and not _repeats_its_entry(line_id):
                    raise LineDiffers(line_id)
                ids.append(line_id)
                if subject is None:
                    lines.append((seq_of, COPY))
                else:
                    lines.append((seq_of, *(loads(subject) if type(subject) is str else subject)))
            self.at = end
            if end < count:
                break
        return ids, lines

    def exhausted(self) -> bool:
        return self.at == len(self.rows) and not self._more()


def _repeats_its_entry(line_id: int) -> bool:
    """Whether ledger line ``line_id`` repeats its entry's values, times as instants."""
    names = ", ".join(f"d.{quote(n)}, e.{quote(n)}" for n in _REPEATED)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {names} FROM {quote(Disclosure._meta.db_table)} d "  # noqa: S608
            f"JOIN {quote(AuditEntry._meta.db_table)} e ON e.seq = d.entry_seq WHERE d.id = %s",
            [line_id],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    pairs = dict(zip(_REPEATED, zip(row[::2], row[1::2], strict=True), strict=True))
    line_at, entry_at = pairs.pop("at")
    try:
        same_at = canonical_at(line_at) == canonical_at(entry_at)
    except (ValueError, TypeError, AttributeError, AssertionError):
        return False
    return same_at and all(line == entry for line, entry in pairs.values())
