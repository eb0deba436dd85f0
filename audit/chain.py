"""The hash chain: a canonical encoding of an entry and the hash over it.

An entry's hash is SHA-256 over its predecessor's hash and the canonical JSON of its
content (sorted keys, no insignificant white space, UTC ISO-8601 time with
microseconds). Changing any field, the order, or removing an entry changes every
hash after it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64

# The fields an entry's hash covers, in the order they are documented.
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_user_id",
    "actor_username",
    "actor_agency_id",
    "actor_agency",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "survivor_ref",
    "categories",
    "consent_ids",
    "outcome",
    "detail",
    "request_id",
    "client_ip",
    "user_agent",
)


def _canonical_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical_bytes(content: dict) -> bytes:
    payload = {name: _canonical_value(content[name]) for name in HASHED_FIELDS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, content: dict) -> str:
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_bytes(content))
    return digest.hexdigest()


def content_of(entry) -> dict:
    """The hashed content of a stored entry (model instance or mapping)."""
    if isinstance(entry, dict):
        return {name: entry[name] for name in HASHED_FIELDS}
    return {name: getattr(entry, name) for name in HASHED_FIELDS}
