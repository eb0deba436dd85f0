"""The sealer: links committed, unsealed entries into the chain, in order.

``record()`` writes an entry *unsealed* (no ``seq``, no hashes) in the transaction
of the access it records, so the two commit together (fail closed) and no chain lock
is held while the request does its other work. A sealing reads without any lock the
waiting entries in id order with the head as it stands (one statement), their
django-auditlog digests (``field_changes``), numbers and hashes each onto its
predecessor and derives the disclosure-ledger lines; then, in a short transaction of
its own, it locks the head and, if the head has not moved (seq and hash as read),
writes the seals and the ledger lines, moves the head, signs a checkpoint when one is
due, and lets the access-alert rules count the entries it sealed (``IN_SEALING``). If
the head moved (another process sealed in between) it reads again; after ``MISSES``
such misses it seals under the lock throughout.

It runs as the last statement of ``record()``'s own transaction when that is the
outermost one (nothing else is left to do in it: a management command, a script);
otherwise after the recording transaction commits, on this process's sealer thread,
never on the committing (request's) thread: the commit only wakes the thread. Under
Daphne, Django runs every sync view of a process on one thread, so a sealing there
delayed every request of the process (bench/README.md, p99). The thread seals at most
once per ``WINDOW`` seconds, every entry waiting by then in one short transaction, so
every entry is sealed within ``WINDOW`` plus one sealing (within the second DESIGN.md
allows). A process that exits seals what waits before it ends; a forked child starts a
sealer of its own. An entry whose sealing failed (a crash between commit and seal) is
sealed by the next sealing in any process, or by ``manage.py seal_audit``;
``verify_audit`` counts the entries that wait. The one update an entry ever receives is
this sealing (on PostgreSQL the append-only trigger allows exactly that and nothing
else).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import DateTimeField, JSONField, Subquery

from audit import checkpoints, field_digest, ledger
from audit.chain import GENESIS_HASH, content_of, entry_hash
from audit.models import AuditEntry, ChainHead, Checkpoint, Disclosure
from srn.prepared import prepared

BATCH = 1000
# Sealings that found the head moved between their read and their write (another
# process sealed meanwhile) before one seals under the head's lock throughout.
MISSES = 2
# This process's sealer thread seals at most once per WINDOW seconds, and within
# LATEST seconds of the oldest commit waiting; idle LINGER seconds, the thread ends.
WINDOW = 0.25
LATEST = 0.5
LINGER = 5.0
STOP_TIMEOUT = 30.0  # how long a process that exits waits for its last sealing

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


# Every sealing runs these: compiled once (``srn.prepared``; the ORM's compilation of
# a query costs more than its SQL). The head comes with the newest checkpoint's seq and
# time (whether one is due), which only a holder of the head's lock writes.
@prepared
def _head(*, pk):
    newest = Checkpoint.objects.order_by("-seq")
    return (
        ChainHead.objects.select_for_update()
        .filter(pk=pk)
        .annotate(
            checkpoint_seq=Subquery(newest.values("seq")[:1]),
            checkpoint_at=Subquery(newest.values("signed_at")[:1]),
        )
    )


@prepared
def _waiting():
    return AuditEntry.objects.filter(hash__isnull=True).order_by("id")[:BATCH]


@prepared
def _waiting_and_head():
    """The waiting entries, each with the head as committed (unlocked) when they were
    read: one statement, one snapshot of both."""
    head = ChainHead.objects.filter(pk=1)
    return (
        AuditEntry.objects.filter(hash__isnull=True)
        .annotate(
            head_seq=Subquery(head.values("seq")[:1]),
            head_hash=Subquery(head.values("hash")[:1]),
        )
        .order_by("id")[:BATCH]
    )


def _locked_head() -> ChainHead:
    found = _head(pk=1)
    if not found:
        # Normally made by the migration; a flushed test database lacks it.
        ChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
        found = _head(pk=1)
    return found[0]


def _sql(model, sql: str) -> str:
    """``sql`` with ``{table}`` and ``{column}`` names of ``model`` quoted."""
    quote = connection.ops.quote_name
    columns = {field.name: quote(field.column) for field in model._meta.concrete_fields}
    return sql.format(table=quote(model._meta.db_table), **columns)


def _write_seals(entries: list[AuditEntry]) -> None:
    """One prepared UPDATE run for every entry (``bulk_update`` builds a CASE per
    field and entry: its cost grew with the batch, ~1 ms an entry)."""
    sql = _sql(
        AuditEntry,
        "UPDATE {table} SET {seq} = %s, {prev_hash} = %s, {hash} = %s, {field_changes} = %s"
        " WHERE {id} = %s",
    )
    rows = [[getattr(entry, name) for name in SEALED_FIELDS] + [entry.pk] for entry in entries]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _write_lines(lines: list[dict]) -> None:
    """The ledger lines, one INSERT run for all (the values ``bulk_create`` stores:
    times and JSON prepared by their fields, numbers and text as they are, without
    compiling the INSERT every time)."""
    if not lines:
        return
    db = transaction.get_connection()
    fields = [Disclosure._meta.get_field(name) for name in ledger.LEDGER_FIELDS]
    names = ", ".join(f"{{{field.name}}}" for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = _sql(Disclosure, f"INSERT INTO {{table}} ({names}) VALUES ({marks})")  # noqa: S608
    prepared_by = [
        field if isinstance(field, DateTimeField | JSONField) else None for field in fields
    ]
    rows = [
        [
            line[field.name] if prep is None else prep.get_db_prep_save(line[field.name], db)
            for field, prep in zip(fields, prepared_by, strict=True)
        ]
        for line in lines
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, rows)


def _move_head(head: ChainHead) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(ChainHead, "UPDATE {table} SET {seq} = %s, {hash} = %s WHERE {id} = %s"),
            [head.seq, head.hash, head.pk],
        )


def _linked(pending: list[AuditEntry], seq: int, previous: str) -> list[dict]:
    """Number and hash ``pending`` onto the head (``seq``, ``previous``), give each its
    field digest; the ledger lines they make."""
    markers = field_digest.markers_for(entry.request_id for entry in pending)
    for entry in pending:
        seq += 1
        entry.seq, entry.prev_hash = seq, previous
        entry.field_changes = markers.get(entry.request_id, "")
        entry.hash = previous = entry_hash(previous, content_of(entry))
    return [line for entry in pending for line in ledger.disclosures_of(entry)]


def _write(head: ChainHead, pending: list[AuditEntry], lines: list[dict]) -> None:
    """Store what ``_linked`` computed onto ``head`` (locked), move the head, sign a
    checkpoint when one is due, let the alert rules count the entries."""
    _write_seals(pending)
    _write_lines(lines)
    head.seq, head.hash = pending[-1].seq, pending[-1].hash
    _move_head(head)
    if checkpoints.due_after(head, head.checkpoint_seq, head.checkpoint_at):
        checkpoints.sign_head(head)
    _follow(pending)


def _seal_batch() -> list[AuditEntry]:
    """Seal the waiting entries (up to ``BATCH``); the entries sealed.

    Read and hash without the write lock, onto the head as it stands; then a short
    transaction locks the head and writes if it has not moved (another sealing in
    between: read again). After ``MISSES`` moves, seal under the lock throughout."""
    for _ in range(MISSES):
        pending = _waiting_and_head()
        if not pending:
            return []
        # No head row: a flushed test database (``_locked_head`` makes it).
        seq, previous = pending[0].head_seq or 0, pending[0].head_hash or GENESIS_HASH
        lines = _linked(pending, seq, previous)
        with transaction.atomic():
            head = _locked_head()
            if (head.seq, head.hash) == (seq, previous):
                _write(head, pending, lines)
                return pending
    return _seal_locked()


def _seal_locked() -> list[AuditEntry]:
    with transaction.atomic():
        head = _locked_head()
        pending = _waiting()
        if pending:
            _write(head, pending, _linked(pending, head.seq, head.hash))
    return pending


def seal_pending() -> list[AuditEntry]:
    """Seal every entry that waits (oldest first); the entries sealed."""
    sealed: list[AuditEntry] = []
    while batch := _seal_batch():
        sealed += batch
        if len(batch) < BATCH:
            break
    return sealed


class _Sealer:
    """This process's sealer thread: commits wake it, it seals, requests never do.

    A commit marks that something waits and wakes the thread (starting it when none
    runs); the thread seals at once when this process has not sealed for ``WINDOW``
    seconds, otherwise when the window ends (and never later than ``LATEST`` after the
    oldest waiting commit), so each sealing takes every entry waiting by then in one
    short transaction. Idle for ``LINGER`` seconds it ends (closing its connection); the
    next commit starts another. It is not a daemon: a process that exits stops it
    (``_stop_at_exit``), and it seals what waits before it ends.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.thread: threading.Thread | None = None
        self.last = float("-inf")  # when the last sealing started
        self.waiting_since: float | None = None  # the oldest commit no sealing has read yet
        self.stopping = False  # the process exits: seal what waits now, then end
        self.dropped = False  # the database is being emptied (``reset``): seal nothing

    def after_commit(self) -> None:
        with self.lock:
            if self.waiting_since is None:
                self.waiting_since = time.monotonic()
            if self.thread is None and not self.stopping:
                self.thread = threading.Thread(target=self._run, name="audit-sealer")
                self.thread.start()
            else:
                self.wake.notify()

    def _run(self) -> None:
        try:
            while self._next_sealing():
                try:
                    seal_pending()
                except Exception:  # logged; the next sealing (any process) seals what waits
                    logger.exception("audit sealing failed; entries wait for the next sealing")
                    connection.close()  # a broken connection is not reused
        finally:
            connection.close()  # this thread's own connection

    def _next_sealing(self) -> bool:
        """Wait until the next sealing is due; False when the thread should end."""
        with self.lock:
            idle_until = time.monotonic() + LINGER
            while True:
                now = time.monotonic()
                if self.dropped:
                    break
                if self.waiting_since is not None:
                    due = min(self.last + WINDOW, self.waiting_since + LATEST)
                    if self.stopping or due <= now:
                        self.waiting_since, self.last = None, now
                        return True
                    self.wake.wait(due - now)
                elif self.stopping or now >= idle_until:
                    break
                else:
                    self.wake.wait(idle_until - now)
            self.thread = None
            return False

    def stop(self, *, seal: bool) -> None:
        """End the thread after it seals what waits (``seal``) or at once, and wait."""
        with self.lock:
            thread = self.thread
            self.stopping = True
            self.dropped = not seal
            self.wake.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=STOP_TIMEOUT)


_sealer = _Sealer()


def _forget_parent_sealer() -> None:
    # A forked child has none of its parent's threads: it starts a sealer of its own.
    global _sealer
    _sealer = _Sealer()


os.register_at_fork(after_in_child=_forget_parent_sealer)


def _stop_at_exit() -> None:
    _sealer.stop(seal=True)


# Called as the interpreter shuts down, before it joins the threads that are not
# daemons (as ``concurrent.futures`` stops its workers): a lingering sealer ends at once,
# after sealing what waits, instead of holding the exit for ``LINGER``. Also in a child
# of ``multiprocessing``, which skips ``atexit``.
threading._register_atexit(_stop_at_exit)


def flush() -> list[AuditEntry]:
    """Seal now, on the calling thread, whatever waits (the sealer thread then finds
    nothing left): for a caller that needs the chain current."""
    with _sealer.lock:
        _sealer.waiting_since = None
        _sealer.last = time.monotonic()
    return seal_pending()


def reset() -> None:
    """Stop the sealer thread, sealing nothing: for a process whose database is emptied
    under it (a test's, flushed when it ends). Entries still waiting are sealed by the
    next sealing, as after a crash."""
    global _sealer
    previous, _sealer = _sealer, _Sealer()
    previous.stop(seal=False)


def _seal_after_commit() -> None:
    _sealer.after_commit()


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
