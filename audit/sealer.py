"""The sealer: links committed, unsealed entries into the chain, in order.

``record()`` writes an entry *unsealed* (no ``seq``, no hashes) in the transaction
of the access it records, so the two commit together (fail closed) and no chain lock
is held while the request does its other work. Sealing takes the chain-head lock in a
short transaction of its own: it numbers every waiting entry in id order, hashes each
onto its predecessor, writes the disclosure-ledger lines and the django-auditlog
digest (``field_changes``), moves the head, and signs a checkpoint when one is due.

It runs right after the recording transaction commits (``transaction.on_commit``), or
as the last statement of ``record()``'s own transaction when that is the outermost
one (nothing else is left to do in it). An entry whose sealing failed (a crash
between commit and seal) is sealed by the next sealing in any process, or by
``manage.py seal_audit``; ``verify_audit`` counts the entries that wait. The one
update an entry ever receives is this sealing (on PostgreSQL the append-only trigger
allows exactly that and nothing else).
"""

from __future__ import annotations

from django.db import connection, transaction

from audit import checkpoints, field_digest, ledger
from audit.chain import GENESIS_HASH, content_of, entry_hash
from audit.models import AuditEntry, ChainHead, Disclosure

BATCH = 1000
SEALED_FIELDS = ["seq", "prev_hash", "hash", "field_changes"]


def _locked_head() -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # Normally made by the migration; a flushed test database lacks it.
        ChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
        head = ChainHead.objects.select_for_update().get(pk=1)
    return head


def _seal_batch() -> list[AuditEntry]:
    with transaction.atomic():
        head = _locked_head()
        pending = list(AuditEntry.objects.filter(hash__isnull=True).order_by("id")[:BATCH])
        if not pending:
            return []
        markers = field_digest.markers_for(entry.request_id for entry in pending)
        seq, previous = head.seq, head.hash
        for entry in pending:
            seq += 1
            entry.seq, entry.prev_hash = seq, previous
            entry.field_changes = markers.get(entry.request_id, "")
            entry.hash = previous = entry_hash(previous, content_of(entry))
        AuditEntry.objects.bulk_update(pending, SEALED_FIELDS)
        lines = [Disclosure(**line) for entry in pending for line in ledger.disclosures_of(entry)]
        Disclosure.objects.bulk_create(lines)
        head.seq, head.hash = seq, previous
        head.save(update_fields=["seq", "hash"])
        if checkpoints.due(head):
            checkpoints.sign_head(head)
    return pending


def seal_pending() -> list[AuditEntry]:
    """Seal every entry that waits (oldest first); the entries sealed."""
    sealed: list[AuditEntry] = []
    while batch := _seal_batch():
        sealed += batch
        if len(batch) < BATCH:
            break
    return sealed


def _seal_after_commit() -> None:
    seal_pending()


def in_outer_transaction() -> bool:
    """Whether an atomic block other than ``record()``'s own encloses the caller.

    Inside a test case's transaction nothing ever commits, so "after commit" is now
    (Django makes the same exception for durable blocks there).
    """
    blocks = connection.atomic_blocks
    if any(block._from_testcase for block in blocks):
        return False
    return len(blocks) > 1


def seal_after_commit() -> None:
    transaction.on_commit(_seal_after_commit, robust=True)


def pending_count() -> int:
    return AuditEntry.objects.filter(hash__isnull=True).count()
