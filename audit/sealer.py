"""The sealer: links committed, unsealed entries into the chain, in order.

``record()`` writes an entry *unsealed* (no ``seq``, no hashes) in the transaction
of the access it records, so the two commit together (fail closed) and no chain lock
is held while the request does its other work. Sealing takes the chain-head lock in a
short transaction of its own: it numbers every waiting entry in id order, hashes each
onto its predecessor, writes the disclosure-ledger lines and the django-auditlog
digest (``field_changes``), moves the head, and signs a checkpoint when one is due.

It runs as the last statement of ``record()``'s own transaction when that is the
outermost one (nothing else is left to do in it); otherwise after the recording
transaction commits (``transaction.on_commit``), batched: the first commit after a
quiet spell of ``WINDOW`` seconds seals at once, and the commits that follow within
the window leave their entries to one timed sealing at its end, which seals every
entry waiting by then in one short transaction. A request then pays one sealing per
window, not one per entry, and every entry is sealed within ``WINDOW`` plus one
sealing (well within the second DESIGN.md allows). A process that exits waits for its
timed sealing (the timer is not a daemon thread). An entry whose sealing failed (a crash
between commit and seal) is sealed by the next sealing in any process, or by
``manage.py seal_audit``; ``verify_audit`` counts the entries that wait. The one
update an entry ever receives is this sealing (on PostgreSQL the append-only trigger
allows exactly that and nothing else).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.db import connection, transaction

from audit import checkpoints, field_digest, ledger
from audit.chain import GENESIS_HASH, content_of, entry_hash
from audit.models import AuditEntry, ChainHead, Disclosure

BATCH = 1000
# Commits within this many seconds of the last sealing (in this process) are sealed
# together at the window's end.
WINDOW = 0.25

logger = logging.getLogger(__name__)
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


class _Batching:
    """This process's sealing after commit: when it last sealed, whether it is
    sealing now, and the timer of the next batch, if one is armed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sealing = False
        self.last = float("-inf")
        self.timer: threading.Timer | None = None

    def after_commit(self) -> None:
        with self.lock:
            if self.timer is not None:
                return  # the armed batch seals this entry too
            wait = self.last + WINDOW - time.monotonic()
            if self.sealing or wait > 0:
                self.timer = threading.Timer(max(wait, 0.01), self._timed)
                self.timer.name = "audit-sealer"
                self.timer.start()
                return
            self.sealing = True
        try:
            seal_pending()
        finally:
            self._sealed()

    def _timed(self) -> None:
        with self.lock:
            self.timer, self.sealing = None, True
        try:
            seal_pending()
        except Exception:  # logged; the next sealing (any process) seals what waits
            logger.exception("audit sealing failed; entries wait for the next sealing")
        finally:
            self._sealed()
            connection.close()  # this thread's own connection

    def _sealed(self) -> None:
        with self.lock:
            self.sealing, self.last = False, time.monotonic()


_batching = _Batching()


def _forget_parent_batching() -> None:
    # A forked child has none of its parent's threads: it batches on its own.
    global _batching
    _batching = _Batching()


os.register_at_fork(after_in_child=_forget_parent_batching)


def flush() -> list[AuditEntry]:
    """Seal now whatever waits, without waiting for an armed batch (which then finds
    nothing left): for a process about to stop, or a caller that needs the chain
    current."""
    with _batching.lock:
        timer, _batching.timer = _batching.timer, None
    if timer is not None:
        timer.cancel()
    return seal_pending()


def _seal_after_commit() -> None:
    _batching.after_commit()


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
