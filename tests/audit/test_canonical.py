"""The fast canonical encoder (orjson) is byte-identical to the definition, and chains
hashed before it verify unchanged."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from audit.chain import (
    HASHED_FIELDS,
    canonical_bytes,
    entry_hash,
    fast_canonical_bytes,
    payload_of,
)
from audit.models import AuditEntry
from audit.recorder import Actor, record
from audit.verify import verify_chain

BASE = {
    "seq": 1,
    "at": datetime(2026, 11, 23, 14, 51, 7, 123456, tzinfo=UTC),
    "actor_user_id": None,
    "actor_username": "",
    "actor_agency_id": None,
    "actor_agency": "",
    "actor_role": "",
    "action": "view",
    "object_type": "referral",
    "object_id": "",
    "survivor_ref": "",
    "categories": [],
    "consent_ids": [],
    "outcome": "allowed",
    "detail": {},
    "request_id": "",
    "client_ip": None,
    "user_agent": "",
}
VECTORS = [
    {},
    {"actor_username": "zoë.ünïcødé", "user_agent": "Mozilla/5.0 (日本語; Ελληνικά) 😀"},
    {"actor_user_id": 7, "actor_agency_id": 2**40, "client_ip": "2001:db8::1"},
    {"at": datetime(2026, 1, 1, tzinfo=UTC)},  # zero microseconds
    {"at": datetime(2026, 6, 1, 3, 4, 5, 1, tzinfo=timezone(timedelta(hours=-5)))},
    {"detail": {"z": 1, "a": {"nested": [1, {"b": None, "a": True}], "é": "ü"}, "m": []}},
    {"detail": {"items": [{"ref": "S-AAAA2222", "categories": ["b", "a"], "n": -3}]}},
    {"detail": {"code": "tab\there", "quote": 'say "hi" \\ back', "ctl": "\x00\x1f\x7f"}},
    {"detail": {"sep": "\u2028\u2029", "big": 9007199254740993, "neg": -(2**63)}},
    {"categories": ["contact", "identity"], "consent_ids": ["c1", "c2"]},
    {"field_changes": "2:17:" + "a" * 64},
]


def _definition(content):
    """audit/chain.py's encoding as first written (commit ad86dd4), verbatim."""
    payload = {
        name: content[name].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(content[name], datetime)
        else content[name]
        for name in HASHED_FIELDS
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("change", VECTORS)
def test_the_fast_encoder_is_byte_identical_to_the_definition(change):
    content = {**BASE, **change}
    assert fast_canonical_bytes(payload_of(content)) == canonical_bytes(content)
    if "field_changes" not in change:
        assert canonical_bytes(content) == _definition(content)


def test_a_hash_recorded_before_the_change_still_matches():
    # Computed with commit ad86dd4's audit/chain.py over VECTORS[1] and VECTORS[5].
    content = {**BASE, **VECTORS[1], **VECTORS[5]}
    assert entry_hash("0" * 64, content) == (
        "a901e239580fc139e0e376f6517416da57bd0f4b4052889aa7562ff073388f53"
    )


@pytest.mark.django_db
def test_stored_entries_with_every_kind_of_value_verify_from_raw_rows():
    for change in VECTORS:
        content = {**BASE, **change}
        record(
            action=content["action"],
            actor=Actor(user_id=content["actor_user_id"], username=content["actor_username"]),
            object_type=content["object_type"],
            categories=content["categories"],
            consent_ids=content["consent_ids"],
            detail=content["detail"],
        )
    result = verify_chain()
    assert (result.ok, result.checked) == (True, len(VECTORS))


@pytest.mark.django_db
def test_a_nul_character_from_a_client_is_stored_replaced_and_the_chain_verifies(client):
    # PostgreSQL refuses NUL in text and jsonb: the refusal's entry must still be written.
    response = client.get("/api/v1/audit/entries/?agency=x%00y", HTTP_USER_AGENT="agent\x00")
    assert response.status_code in (401, 403)
    entry = AuditEntry.objects.order_by("-id").first()
    assert "\x00" not in entry.user_agent
    assert verify_chain().ok
