"""Blind spots closed: automatic exported checkpoints, django-auditlog rows in the
chain, and a rewrite named at its first altered entry."""

import pytest
from auditlog.models import LogEntry
from django.db import connection

from audit.chain import content_of, entry_hash
from audit.checkpoints import exported
from audit.context import RequestContext, bound
from audit.models import AuditEntry, ChainHead, Checkpoint
from audit.recorder import Actor, record
from audit.verify import verify_chain
from tests.factories import AgencyFactory


def _sql(sql, params=(), table="audit_auditentry", trigger="audit_entry_append_only"):
    """Raw writes, as an attacker with database access would make them."""
    guarded = connection.vendor == "postgresql" and trigger is not None
    with connection.cursor() as cursor:
        if guarded:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cursor.execute(sql, params)
        if guarded:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def _build(n):
    for i in range(n):
        record(action="view", actor=Actor(user_id=i), object_type="referral", object_id=i)


def _rewrite_from(seq):
    """Rewrite entry ``seq`` and re-hash every entry after it, head included."""
    previous = AuditEntry.objects.get(seq=seq - 1).hash
    for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
        if entry.seq == seq:
            entry.outcome = "denied"
        entry.prev_hash = previous
        entry.hash = previous = entry_hash(previous, content_of(entry))
        _sql(
            "UPDATE audit_auditentry SET outcome = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            (entry.outcome, entry.prev_hash, entry.hash, entry.seq),
        )
    ChainHead.objects.filter(pk=1).update(hash=previous)


def _drop_stored_checkpoints():
    _sql(
        "DELETE FROM audit_checkpoint",
        table="audit_checkpoint",
        trigger="audit_checkpoint_append_only",
    )


@pytest.mark.django_db(transaction=True)
def test_checkpoints_are_signed_and_exported_on_their_own(settings):
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 5
    _build(12)
    assert list(Checkpoint.objects.values_list("seq", flat=True)) == [1, 6, 11]
    assert [line["seq"] for line in exported()] == [1, 6, 11]
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_truncated_tail_is_caught_without_anyone_exporting(settings):
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 5
    _build(12)
    _sql("DELETE FROM audit_auditentry WHERE seq >= 9")
    ChainHead.objects.filter(pk=1).update(seq=8, hash=AuditEntry.objects.get(seq=8).hash)
    _drop_stored_checkpoints()
    result = verify_chain()  # reads the export file by default
    assert (result.ok, result.first_bad_seq) == (False, 9)
    assert "truncated" in result.reason


@pytest.mark.django_db(transaction=True)
def test_a_rewritten_tail_is_named_at_its_first_altered_entry(settings):
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 5
    _build(12)
    _rewrite_from(8)
    _drop_stored_checkpoints()
    result = verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, 8)
    assert "signed checkpoint" in result.reason


@pytest.mark.django_db(transaction=True)
def test_a_rewrite_is_named_at_its_entry_with_the_checkpoint_in_the_database_too(settings):
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 5
    _build(12)
    _rewrite_from(3)
    result = verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, 3)


def _request_with_field_changes(request_id="req-field-1"):
    with bound(RequestContext(request_id=request_id)):
        AgencyFactory(slug="tracked-one")
        AgencyFactory(slug="tracked-two")
        record(action="update", actor=Actor(user_id=1), object_type="agency")
    return AuditEntry.objects.get(request_id=request_id)


@pytest.mark.django_db
def test_the_requests_field_diffs_are_digested_into_its_entry():
    entry = _request_with_field_changes()
    assert LogEntry.objects.filter(cid="req-field-1").count() == 2
    assert entry.field_changes.startswith("2:")
    result = verify_chain()
    assert result.ok
    assert result.field_changes_uncovered == LogEntry.objects.exclude(cid="req-field-1").count()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE auditlog_logentry SET changes_text = 'forged' WHERE id = %s",
        "DELETE FROM auditlog_logentry WHERE id = %s",
    ],
)
def test_a_tampered_field_diff_names_the_entry_of_its_request(sql):
    entry = _request_with_field_changes()
    record(action="view", actor=None)  # a later entry: the failure is not simply the last
    first = LogEntry.objects.filter(cid="req-field-1").order_by("pk").first()
    _sql(sql, (first.pk,), table="auditlog_logentry", trigger=None)
    result = verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, entry.seq)
    assert "django-auditlog" in result.reason
