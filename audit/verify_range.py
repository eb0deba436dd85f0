"""Verify one range of sealed entries from raw rows (a worker of ``audit.verify``).

Each entry's hash depends only on its own row and the stored hash of its
predecessor, so ranges are verified independently (in parallel processes) and the
caller checks only the links between ranges. Rows are read through a cursor, not
model instances; the canonical encoding is orjson's (byte-identical to the
definition in ``audit.chain``), with the definition as the fallback whenever a hash
does not match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
from django.db import connection
from django.utils.dateparse import parse_datetime

from audit import field_digest
from audit.chain import (
    HASHED_FIELDS,
    fast_canonical_bytes,
    hash_bytes,
    reference_bytes,
)
from audit.ledger import LEDGER_FIELDS, READS, disclosures_of
from audit.models import AuditEntry, Disclosure
from audit.verify_fast import fast_range

COLUMNS = (*HASHED_FIELDS, "field_changes", "prev_hash", "hash")
_JSON = {HASHED_FIELDS.index(name) for name in ("categories", "consent_ids", "detail")}
_AT, _IP = HASHED_FIELDS.index("at"), HASHED_FIELDS.index("client_ip")
_N = len(HASHED_FIELDS)
_LEDGER_JSON = {
    LEDGER_FIELDS.index(name) for name in ("categories", "consent_ids", "emergency_access_ids")
}
_LEDGER_AT = LEDGER_FIELDS.index("at")
_READ_ACTIONS = frozenset(str(action) for action in READS)


@dataclass
class RangeResult:
    lo: int
    hi: int
    checked: int = 0
    first_prev: str | None = None
    last_hash: str | None = None
    failure: tuple[int, str] | None = None
    ledger: tuple[int, int, int] | None = None  # first id, last id, lines
    covered: dict[str, int] = field(default_factory=dict)  # request id -> field diffs


def canonical_at(value) -> str:
    """A stored time as the canonical text (SQLite gives text, PostgreSQL datetimes)."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}Z"
        if len(value) == 19 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}.000000Z"
        value = parse_datetime(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # Naive values are UTC (Django stores them so); isoformat is strftime's text, faster.
    return value.isoformat(timespec="microseconds") + "Z"


def _json(value):
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return json.loads(value)
    return value


def _reference_hash(previous: str, row: tuple) -> str:
    payload = dict(zip(HASHED_FIELDS, row[:_N], strict=True))
    for index in _JSON:
        name = HASHED_FIELDS[index]
        value = payload[name]
        payload[name] = json.loads(value) if isinstance(value, str) else value
    payload["at"] = canonical_at(payload["at"])
    ip = payload["client_ip"]
    payload["client_ip"] = None if ip is None else str(ip)
    if row[_N]:
        payload["field_changes"] = row[_N]
    return hash_bytes(previous, reference_bytes(payload))


def _payload(row: tuple) -> dict:
    values = list(row[:_N])
    for index in _JSON:
        values[index] = _json(values[index])
    values[_AT] = canonical_at(values[_AT])
    if values[_IP] is not None:
        values[_IP] = str(values[_IP])
    payload = dict(zip(HASHED_FIELDS, values, strict=True))
    if row[_N]:
        payload["field_changes"] = row[_N]
    return payload


def _select(table: str, columns, where: str, order: str) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(name) for name in columns)
    return f"SELECT {names} FROM {quote(table)} WHERE {where} ORDER BY {quote(order)}"  # noqa: S608


def _ledger_lines(lo: int, hi: int):
    sql = _select(
        Disclosure._meta.db_table, ("id", *LEDGER_FIELDS), "entry_seq BETWEEN %s AND %s", "id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [lo, hi])
        while rows := cursor.fetchmany(2000):
            for row in rows:
                line = list(row[1:])
                for index in _LEDGER_JSON:
                    line[index] = _json(line[index])
                line[_LEDGER_AT] = canonical_at(line[_LEDGER_AT])
                yield row[0], dict(zip(LEDGER_FIELDS, line, strict=True))


def verify_range(
    lo: int, hi: int, previous: str | None, pinned: dict[int, str], window: dict[int, str]
) -> RangeResult:
    """Check entries ``lo``..``hi``; ``previous`` is the hash before ``lo`` if known.

    Chunk by chunk (``fast_range``); only a range where anything differs is walked
    again entry by entry (``_exact_range``), which names the first bad entry."""
    result = fast_range(lo, hi, previous, pinned, window)
    if result is None:
        result = _exact_range(lo, hi, previous, pinned, window)
    return result


def _exact_range(
    lo: int, hi: int, previous: str | None, pinned: dict[int, str], window: dict[int, str]
) -> RangeResult:
    """The entry-by-entry walk: each check in order, stopping at the first failure."""
    result = RangeResult(lo, hi)
    ledger = _ledger_lines(lo, hi)
    first_id = last_id = None
    lines = 0
    markers: list[tuple[int, str, str]] = []
    expected = lo
    sql = _select(AuditEntry._meta.db_table, COLUMNS, "seq BETWEEN %s AND %s", "seq")

    def fail(seq: int, reason: str) -> RangeResult:
        result.failure = (seq, reason)
        return result

    with connection.cursor() as cursor:
        cursor.execute(sql, [lo, hi])
        while rows := cursor.fetchmany(2000):
            for row in rows:
                seq, prev_hash, digest = row[0], row[-2], row[-1]
                if seq != expected:
                    return _finish(fail(expected, "entry missing (gap in sequence)"), markers)
                if previous is None:
                    result.first_prev = previous = prev_hash
                elif prev_hash != previous:
                    return _finish(fail(seq, "predecessor link broken"), markers)
                payload = _payload(row)
                if digest is None or (
                    hash_bytes(previous, fast_canonical_bytes(payload)) != digest
                    and _reference_hash(previous, row) != digest
                ):
                    return _finish(fail(seq, "content does not match its hash"), markers)
                if pinned.get(seq, digest) != digest:
                    return _finish(fail(seq, "differs from a signed checkpoint"), markers)
                prefix = window.get(seq)
                if prefix is not None and not digest.startswith(prefix):
                    return _finish(fail(seq, "differs from a signed checkpoint"), markers)
                if payload["outcome"] == "allowed" and payload["action"] in _READ_ACTIONS:
                    for line in disclosures_of(SimpleNamespace(**payload)):
                        stored = next(ledger, None)
                        if stored is None or stored[1] != line:
                            return _finish(fail(seq, "disclosure ledger differs"), markers)
                        first_id = stored[0] if first_id is None else first_id
                        last_id, lines = stored[0], lines + 1
                if row[_N]:
                    markers.append((seq, payload["request_id"], row[_N]))
                previous, expected = digest, expected + 1
                result.checked += 1
    result.last_hash = previous
    extra = next(ledger, None)
    if extra is not None:
        return _finish(
            fail(extra[1]["entry_seq"], "disclosure ledger has a line no entry makes"), markers
        )
    if expected <= hi:
        return _finish(fail(expected, "entry missing (gap in sequence)"), markers)
    result.ledger = (first_id, last_id, lines) if lines else None
    return _finish(result, markers)


def _finish(result: RangeResult, markers: list[tuple[int, str, str]]) -> RangeResult:
    """Check the django-auditlog digests of the entries verified so far."""
    if not markers:
        return result
    rows = field_digest.rows_by_request(request_id for _, request_id, _ in markers)
    for seq, request_id, value in markers:
        if not field_digest.check(value, rows.get(request_id, [])):
            result.failure = (seq, "field changes (django-auditlog) differ from their digest")
            result.checked = seq - result.lo
            return result
        count, _ = field_digest.covered(value)
        result.covered[request_id] = max(count, result.covered.get(request_id, 0))
    return result
