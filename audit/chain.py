"""The hash chain: a canonical encoding of an entry and the hash over it.

An entry's hash is SHA-256 over its predecessor's hash and the canonical JSON of its
content (sorted keys, no insignificant white space, UTC ISO-8601 time with
microseconds). Changing any field, the order, or removing an entry changes every
hash after it. ``field_changes`` (the digest of the request's django-auditlog rows) is
hashed too when it is set; entries without it encode exactly as before it existed.

``canonical_bytes`` is the definition. ``fast_canonical_bytes`` (orjson) gives the
same bytes for every value an entry holds (tests/audit/test_canonical.py proves it on
recorded vectors); verification uses it and falls back to the definition whenever a
hash does not match, so an encoder difference can slow verification, never fool it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import orjson

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


# Hashed only when not empty, so entries sealed before it existed keep their hash.
OPTIONAL_HASHED_FIELDS = ("field_changes",)

# json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), built once.
_REFERENCE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_value(value):
    if isinstance(value, datetime):
        return canonical_time(value)
    return value


def payload_of(content: dict) -> dict:
    payload = {name: _canonical_value(content[name]) for name in HASHED_FIELDS}
    for name in OPTIONAL_HASHED_FIELDS:
        if content.get(name):
            payload[name] = content[name]
    return payload


def canonical_bytes(content: dict) -> bytes:
    """The definition of an entry's encoding."""
    return _REFERENCE.encode(payload_of(content)).encode()


def reference_bytes(payload: dict) -> bytes:
    """``canonical_bytes`` of an already canonical payload (time as text), via json."""
    return _REFERENCE.encode(payload).encode()


def fast_canonical_bytes(payload: dict) -> bytes:
    """``canonical_bytes`` of an already canonical payload (time as text), via orjson."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def hash_bytes(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + encoded).hexdigest()


def entry_hash(prev_hash: str, content: dict) -> str:
    return hash_bytes(prev_hash, canonical_bytes(content))


def content_of(entry) -> dict:
    """The hashed content of a stored entry (model instance or mapping)."""
    if isinstance(entry, dict):
        content = {name: entry[name] for name in HASHED_FIELDS}
        return content | {name: entry.get(name, "") for name in OPTIONAL_HASHED_FIELDS}
    names = HASHED_FIELDS + OPTIONAL_HASHED_FIELDS
    return {name: getattr(entry, name, "") for name in names}
