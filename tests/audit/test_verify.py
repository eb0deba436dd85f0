"""Tampering is detected by verify_audit, naming the first bad entry."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.chain import content_of, entry_hash
from audit.models import AuditEntry, ChainHead, Checkpoint
from audit.recorder import Actor, record
from audit.verify import checkpoint_write, verify_chain

pytestmark = pytest.mark.django_db


def build(n=6):
    for i in range(n):
        record(
            action="view",
            actor=Actor(user_id=i),
            object_type="referral",
            object_id=i,
            survivor_ref=f"S-{i:08d}",
        )


def tamper(sql, params=()):
    """Raw writes, as an attacker with database access would make them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


def test_an_intact_chain_verifies():
    build()
    checkpoint_write()
    result = verify_chain()
    assert result.ok
    assert result.checked == 6


def test_editing_an_entry_names_it():
    build()
    tamper("UPDATE audit_auditentry SET survivor_ref = 'S-FORGED00' WHERE seq = 3")
    result = verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "content" in result.reason


def test_deleting_an_entry_names_the_gap():
    build()
    tamper("DELETE FROM audit_auditentry WHERE seq = 3")
    assert verify_chain().first_bad_seq == 3


def test_reordering_entries_names_the_first_moved():
    build()
    tamper("UPDATE audit_auditentry SET seq = 100 WHERE seq = 3")
    tamper("UPDATE audit_auditentry SET seq = 3 WHERE seq = 4")
    tamper("UPDATE audit_auditentry SET seq = 4 WHERE seq = 100")
    result = verify_chain()
    assert result.first_bad_seq == 3
    assert "predecessor" in result.reason


def test_inserting_a_well_formed_entry_breaks_the_link_after_it():
    build()
    tamper("UPDATE audit_auditentry SET seq = seq + 100 WHERE seq >= 3")
    tamper("UPDATE audit_auditentry SET seq = seq - 99 WHERE seq >= 103")
    second = AuditEntry.objects.get(seq=2)
    forged = AuditEntry(
        **{
            f.name: getattr(second, f.name)
            for f in AuditEntry._meta.concrete_fields
            if f.name not in ("id",)
        }
    )
    forged.seq, forged.prev_hash, forged.survivor_ref = 3, second.hash, "S-INSERTED"
    forged.hash = entry_hash(second.hash, content_of(forged))
    forged.save()
    result = verify_chain()
    assert result.first_bad_seq == 4  # the genuine entry whose predecessor was swapped out


def test_truncating_the_tail_is_caught_by_the_head_and_by_exported_checkpoints(tmp_path):
    build()
    checkpoint_write()
    exported = list(Checkpoint.objects.values("seq", "hash", "signature", "public_key"))
    tamper("DELETE FROM audit_auditentry WHERE seq >= 5")
    assert verify_chain().first_bad_seq == 5
    # the attacker also rewinds the head and drops the stored checkpoints ...
    ChainHead.objects.filter(pk=1).update(seq=4, hash=AuditEntry.objects.get(seq=4).hash)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_append_only"
            )
        cursor.execute("DELETE FROM audit_checkpoint")
    assert verify_chain().ok  # nothing left inside the database shows it ...
    result = verify_chain(checkpoints=exported)  # ... the exported checkpoint does
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "truncated" in result.reason


def test_a_forged_checkpoint_is_refused():
    build()
    checkpoint = checkpoint_write()
    forged = {
        "seq": checkpoint.seq,
        "hash": "f" * 64,
        "signature": checkpoint.signature,
        "public_key": checkpoint.public_key,
    }
    assert not verify_chain(checkpoints=[forged]).ok


def test_a_checkpoint_signed_with_the_attackers_own_key_is_refused(settings):
    """An attacker who rewrites the tail can sign a matching checkpoint with a key of
    their own; it carries that key, so only a pinned key list catches it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.verify import _message

    build()
    head = ChainHead.objects.get(pk=1)
    attacker = Ed25519PrivateKey.generate()
    attacker_public = (
        attacker.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )
    forged = {
        "seq": head.seq,
        "hash": head.hash,
        "signature": attacker.sign(_message(head.seq, head.hash)).hex(),
        "public_key": attacker_public,
    }
    result = verify_chain(checkpoints=[forged])
    assert (result.ok, result.reason) == (False, "checkpoint signed by an untrusted key")
    # A key trusted on purpose (an earlier, rotated signing key) is accepted.
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = [attacker_public.upper()]
    assert verify_chain(checkpoints=[forged]).ok


def test_verify_audit_command_exits_non_zero_and_names_the_entry(tmp_path, capsys):
    build()
    call_command("audit_checkpoint", export=str(tmp_path / "cp.json"))
    assert json.loads((tmp_path / "cp.json").read_text())[-1]["seq"] == 6
    call_command("verify_audit", "--no-progress")
    assert "intact: 6 entries" in capsys.readouterr().out
    tamper("UPDATE audit_auditentry SET outcome = 'denied' WHERE seq = 2")
    with pytest.raises(CommandError, match="broken at entry 2"):
        call_command("verify_audit", "--no-progress", checkpoints=str(tmp_path / "cp.json"))


@pytest.mark.production
def test_postgresql_refuses_update_and_delete_of_audit_entries():
    build(2)
    for statement in (
        "UPDATE audit_auditentry SET outcome = 'denied'",
        "DELETE FROM audit_auditentry",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.count() == 2


def _ledger_tamper(sql):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_disclosure DISABLE TRIGGER audit_disclosure_append_only"
            )
        cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_disclosure ENABLE TRIGGER audit_disclosure_append_only"
            )


def _disclosing_trail():
    for i in range(4):
        record(
            action="view",
            actor=Actor(user_id=i, agency="shelter"),
            object_type="referral",
            object_id=f"r{i}",
            survivor_ref="S-AAAA2222",
            categories=["identity"],
            consent_ids=[f"c{i}"],
        )


@pytest.mark.parametrize(
    ("sql", "bad_seq"),
    [
        ("DELETE FROM audit_disclosure WHERE entry_seq = 2", 2),
        ("""UPDATE audit_disclosure SET consent_ids = '["forged"]' WHERE entry_seq = 3""", 3),
        (
            "INSERT INTO audit_disclosure (entry_seq, at, survivor_ref, actor_user_id, "
            "actor_username, actor_agency_id, actor_agency, actor_role, action, object_type, "
            "object_id, categories, consent_ids, basis, emergency_access_ids) "
            "SELECT 9, at, survivor_ref, actor_user_id, "
            "actor_username, actor_agency_id, actor_agency, actor_role, action, object_type, "
            "object_id, categories, consent_ids, basis, emergency_access_ids "
            "FROM audit_disclosure WHERE entry_seq = 4",
            9,
        ),
    ],
)
def test_a_tampered_disclosure_ledger_is_detected(sql, bad_seq):
    _disclosing_trail()
    assert verify_chain().ok
    _ledger_tamper(sql)
    result = verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, bad_seq)
    assert "ledger" in result.reason


@pytest.mark.django_db(transaction=True)
def test_ranges_verified_in_parallel_name_the_first_bad_entry():
    build(20)
    assert verify_chain(workers=2, chunk_size=6).checked == 20
    tamper("UPDATE audit_auditentry SET survivor_ref = 'S-FORGED00' WHERE seq = 14")
    tamper("UPDATE audit_auditentry SET survivor_ref = 'S-FORGED00' WHERE seq = 17")
    result = verify_chain(workers=2, chunk_size=6)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 14, 13)


@pytest.mark.django_db(transaction=True)
def test_a_broken_link_between_ranges_is_named():
    build(12)
    tamper("UPDATE audit_auditentry SET prev_hash = %s WHERE seq = 7", ["e" * 64])
    result = verify_chain(workers=2, chunk_size=6)
    assert (result.ok, result.first_bad_seq) == (False, 7)


def test_since_checkpoint_checks_only_what_follows_the_newest_trusted_one():
    build(6)
    checkpoint_write()
    tamper("UPDATE audit_auditentry SET survivor_ref = 'S-FORGED00' WHERE seq = 2")
    build(3)
    result = verify_chain(since_checkpoint=True)
    assert (result.ok, result.since_seq, result.checked) == (True, 6, 3)
    assert verify_chain().first_bad_seq == 2  # a whole walk still finds it
    tamper("UPDATE audit_auditentry SET survivor_ref = 'S-FORGED00' WHERE seq = 8")
    assert verify_chain(since_checkpoint=True).first_bad_seq == 8
