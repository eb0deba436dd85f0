"""django-auditlog's field diffs, covered by the chain.

When an entry is sealed (after its transaction committed), the ``LogEntry`` rows of
its request (auditlog's ``cid`` is our request id) are digested into the entry's
``field_changes``: ``"<rows>:<last pk>:<sha256>"``, which the entry's hash covers.
Verification recomputes the digest of that request's rows up to that pk, so a field
diff edited, deleted or slipped in among them names the entry. Rows without a request
(management commands) or written after the request's last entry was sealed are not
covered; ``verify_audit`` counts them.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from audit.chain import canonical_time
from srn.prepared import prepared

# The LogEntry columns digested, fixed here so an auditlog upgrade adding columns
# does not change the digest of existing rows.
ROW_FIELDS = (
    "id",
    "content_type_id",
    "object_pk",
    "object_id",
    "object_repr",
    "action",
    "changes",
    "changes_text",
    "actor_id",
    "cid",
    "remote_addr",
    "timestamp",
    "additional_data",
)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_BATCH = 512


_PLAIN = (str, int, float, bool, list, dict, type(None))


def _plain(value):
    if isinstance(value, datetime):
        return canonical_time(value)
    return value if isinstance(value, _PLAIN) else str(value)  # e.g. an inet address


def _row_bytes(row: tuple) -> bytes:
    return _ENCODER.encode([_plain(v) for v in row]).encode() + b"\n"


def rows_by_request(request_ids: Iterable[str]) -> dict[str, list[tuple[int, bytes]]]:
    """request id -> [(pk, encoded row)] in pk order, for the given requests."""
    ids = sorted({r for r in request_ids if r})
    found: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        # Padded to a power of two (a repeated id changes no ``IN``): a few shapes.
        chunk += chunk[-1:] * ((1 << (len(chunk) - 1).bit_length()) - len(chunk))
        for row in _rows(ids=chunk):
            found[row[9]].append((row[0], _row_bytes(row)))
    return found


# Every sealing asks this: compiled once per shape (``srn.prepared``).
@prepared
def _rows(*, ids):
    from auditlog.models import LogEntry

    return LogEntry.objects.filter(cid__in=ids).order_by("pk").values_list(*ROW_FIELDS)


def marker(rows: list[tuple[int, bytes]]) -> str:
    digest = hashlib.sha256()
    for _, encoded in rows:
        digest.update(encoded)
    return f"{len(rows)}:{rows[-1][0]}:{digest.hexdigest()}" if rows else ""


def markers_for(request_ids: Iterable[str]) -> dict[str, str]:
    """request id -> the ``field_changes`` an entry of that request gets now."""
    return {cid: marker(rows) for cid, rows in rows_by_request(request_ids).items()}


def check(value: str, rows: list[tuple[int, bytes]]) -> bool:
    """Whether ``value`` (an entry's ``field_changes``) still matches its rows."""
    last = int(value.split(":")[1])
    return marker([row for row in rows if row[0] <= last]) == value


def covered(value: str) -> tuple[int, int]:
    """(rows, last pk) a ``field_changes`` value speaks for."""
    count, last, _ = value.split(":")
    return int(count), int(last)


def total_rows() -> int:
    from auditlog.models import LogEntry

    return LogEntry.objects.count()
