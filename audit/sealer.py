"""The sealer: links committed, unsealed entries into the chain, in order.

``record()`` writes an entry *unsealed* (no ``seq``, no hashes) in the transaction
of the access it records, so the two commit together (fail closed) and no chain lock
is held while the request does its other work. Sealing takes the chain-head lock in a
short transaction of its own: it numbers every waiting entry in id order, hashes each
onto its predecessor, writes the disclosure-ledger lines and the django-auditlog
digest (``field_changes``), moves the head, signs a checkpoint when one is due, and
lets the access-alert rules count the entries it sealed (``IN_SEALING``).

It runs as the last statement of ``record()``'s own transaction when that is the
outermost one (nothing else is left to do in it); otherwise after the recording
transaction commits (``transaction.on_commit``), batched per process: a commit seals
at once when the process has not sealed for ``WINDOW`` seconds, and otherwise leaves
its entry to the next sealing, which seals every entry waiting by then in one short
transaction; an entry left waiting ``LATEST`` seconds (the traffic stopped) is sealed
by a timer. Requests pay one sealing per window, not one per entry, and every entry
is sealed within ``LATEST`` plus one sealing (within the second DESIGN.md allows). A
process that exits waits for its timer (not a daemon thread). An entry whose sealing
failed (a crash between commit and seal) is sealed by the next sealing in any process, or by
``manage.py seal_audit``; ``verify_audit`` counts the entries that wait. The one
update an entry ever receives is this sealing (on PostgreSQL the append-only trigger
allows exactly that and nothing else).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from django.db import connection, transaction

from audit import checkpoints, field_digest, ledger
from audit.chain import GENESIS_HASH, content_of, entry_hash
from audit.models import AuditEntry, ChainHead, Disclosure

BATCH = 1000
# A commit within WINDOW seconds of this process's last sealing leaves its entry to
# the next; an entry left waiting LATEST seconds is sealed by a timer.
WINDOW = 0.25
LATEST = 0.75

logger = logging.getLogger(__name__)
SEALED_FIELDS = ["seq", "prev_hash", "hash", "field_changes"]
# Work that follows the entries a sealing seals (``audit.alert_watch.watch``, registered
# by ``AuditConfig.ready``): run in the sealing's transaction once the head has moved,
# so it costs no transaction of its own, each in a savepoint of its own: a failure is
# logged and rolled back alone, and never undoes or blocks the sealing.
IN_SEALING: list[Callable[[list[AuditEntry]], object]] = []


def _follow(sealed: list[AuditEntry]) -> None:
    for work in IN_SEALING:
        try:
            work(sealed)
        except Exception:
            logger.exception("%s failed in a sealing; the next sealing retries", work)


def _locked_head() -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # Normally made by the migration; a flushed test database lacks it.
        ChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
        head = ChainHead.objects.select_for_update().get(pk=1)
    return head


def _write_seals(entries: list[AuditEntry]) -> None:
    """One prepared UPDATE run for every entry (``bulk_update`` builds a CASE per
    field and entry: its cost grew with the batch, ~1 ms an entry)."""
    columns = [AuditEntry._meta.get_field(name).column for name in SEALED_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
    sql = f"UPDATE {quote(AuditEntry._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
    rows = [[getattr(entry, name) for name in SEALED_FIELDS] + [entry.pk] for entry in entries]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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
        _write_seals(pending)
        lines = [Disclosure(**line) for entry in pending for line in ledger.disclosures_of(entry)]
        Disclosure.objects.bulk_create(lines)
        head.seq, head.hash = seq, previous
        head.save(update_fields=["seq", "hash"])
        if checkpoints.due(head):
            checkpoints.sign_head(head)
        _follow(pending)
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
    """This process's sealing after commit.

    A commit seals at once, on its own thread, when this process has not sealed for
    ``WINDOW`` seconds; otherwise its entry waits for the next such commit, and a
    timer seals it only if it has waited ``LATEST`` seconds (the traffic stopped).
    Under steady traffic every sealing runs on a request's thread, one per window,
    and the timer never competes with the requests for the database.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.sealing = False
        self.last = float("-inf")  # when the last sealing started
        self.waiting_since: float | None = None  # the oldest commit left to a later sealing
        self.timer: threading.Timer | None = None

    def after_commit(self) -> None:
        with self.lock:
            now = time.monotonic()
            if self.sealing or now - self.last < WINDOW:
                if self.waiting_since is None:
                    self.waiting_since = now
                self._arm(self.waiting_since + LATEST - now)
                return
            self.sealing, self.last = True, now
        try:
            seal_pending()
        finally:
            self._sealed(now)

    def _arm(self, delay: float) -> None:
        if self.timer is None:
            self.timer = threading.Timer(max(delay, 0.01), self._timed)
            self.timer.name = "audit-sealer"
            self.timer.start()

    def _timed(self) -> None:
        with self.lock:
            self.timer = None
            now = time.monotonic()
            if self.waiting_since is None:
                return  # a request's sealing took them
            if self.sealing or now - self.waiting_since < LATEST:
                self._arm(self.waiting_since + LATEST - now)
                return
            self.sealing, self.last = True, now
        try:
            seal_pending()
        except Exception:  # logged; the next sealing (any process) seals what waits
            logger.exception("audit sealing failed; entries wait for the next sealing")
        finally:
            self._sealed(now)
            connection.close()  # this thread's own connection

    def _sealed(self, started: float) -> None:
        with self.lock:
            self.sealing = False
            if self.waiting_since is not None and self.waiting_since < started:
                self.waiting_since = None  # committed before this sealing read them
            elif self.waiting_since is not None:
                self._arm(self.waiting_since + LATEST - time.monotonic())


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
        _batching.waiting_since = None
        _batching.last = time.monotonic()
    if timer is not None:
        timer.cancel()
    return seal_pending()


def reset() -> None:
    """Disarm the timer and forget what waited, sealing nothing: for a process whose
    database was emptied under it (a test's, flushed when it ends). Entries still
    waiting are sealed by the next sealing, as after a crash."""
    global _batching
    with _batching.lock:
        timer, _batching.timer = _batching.timer, None
    if timer is not None:
        timer.cancel()
    _batching = _Batching()


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
