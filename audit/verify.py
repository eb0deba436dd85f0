"""Recompute the chain and check it against signed checkpoints.

Detects an edited entry (its hash no longer matches its content), a deleted or
inserted one (a gap in ``seq`` or a broken predecessor link), reordering (both), a
tampered disclosure ledger or django-auditlog field diff, and — with checkpoints,
stored and exported (``audit.checkpoints``) — a rewritten or truncated tail; an
exported checkpoint's signed window names a rewrite at its first altered entry.

Ranges of entries are verified independently (``audit.verify_range``), in parallel
processes when ``workers`` > 1; ``since_checkpoint`` starts after the newest trusted
checkpoint instead of at the first entry. Unsealed entries are counted, not checked.
"""

from __future__ import annotations

import bisect
import itertools
import multiprocessing
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, connections
from django.db.models import Max

from audit import field_digest, sealer
from audit.chain import GENESIS_HASH
from audit.checkpoints import (  # noqa: F401  (re-exported: the verification API)
    _message,
    checkpoint_is_authentic,
    checkpoint_write,
    exported,
    public_key_hex,
    stored,
    trusted_public_keys,
    window_of,
)
from audit.models import AuditEntry, ChainHead, Disclosure
from audit.verify_range import RangeResult, verify_range


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    pending: int = 0  # entries committed but not yet sealed into the chain
    since_seq: int = 0  # entries up to this one were vouched for by a checkpoint
    # django-auditlog rows no entry's digest covers (None: not counted, partial walk)
    field_changes_uncovered: int | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _trusted(checkpoints: Iterable[dict]):
    """(pinned seq -> hash, window seq -> prefix, None) or (.., .., failure result)."""
    pinned: dict[int, str] = {}
    window: dict[int, str] = {}
    trusted = trusted_public_keys()
    for checkpoint in checkpoints:
        key = (checkpoint.get("public_key") or public_key_hex()).lower()
        if key not in trusted:
            # A checkpoint carries its own public key; anyone can sign one with theirs.
            failure = VerifyResult(
                False, 0, checkpoint["seq"], "checkpoint signed by an untrusted key"
            )
            return pinned, window, failure
        if not checkpoint_is_authentic(checkpoint, key):
            failure = VerifyResult(False, 0, checkpoint["seq"], "checkpoint signature is invalid")
            return pinned, window, failure
        pinned[checkpoint["seq"]] = checkpoint["hash"]
        window.update(window_of(checkpoint, key))
    return pinned, window, None


def _ranges(start: int, last: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size - 1, last)) for lo in range(start, last + 1, size)]


def _within(said: dict[int, str], seqs: list[int], lo: int, hi: int) -> dict[int, str]:
    """What ``said`` (its keys sorted: ``seqs``) says of entries ``lo``..``hi``: a
    slice, not a scan per range (a window names every entry)."""
    found = seqs[bisect.bisect_left(seqs, lo) : bisect.bisect_right(seqs, hi)]
    return {seq: said[seq] for seq in found}


# What the checkpoints say, per verification (a key each): the forked workers inherit
# it, instead of receiving each range's share pickled (a window names every entry).
_SIGNED: dict[int, tuple] = {}
_KEYS = itertools.count()


def _task(args) -> RangeResult:
    key, lo, hi, previous = args
    pinned, pinned_seqs, window, window_seqs = _SIGNED[key]
    return verify_range(
        lo,
        hi,
        previous,
        _within(pinned, pinned_seqs, lo, hi),
        _within(window, window_seqs, lo, hi),
    )


def _run(tasks: list[tuple], workers: int):
    if workers > 1 and len(tasks) > 1 and not connection.in_atomic_block:
        connections.close_all()  # each forked worker opens its own connection
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.imap(_task, tasks)
            try:
                yield from results
            finally:
                # A caller that stops at the first bad range: the ranges in flight finish
                # before the pool ends (terminating it with tasks in flight could hang).
                for _ in results:
                    pass
        return
    for task in tasks:
        yield _task(task)


def verify_chain(
    *,
    checkpoints: Iterable[dict] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 50_000,
    workers: int = 1,
    since_checkpoint: bool = False,
    export: str | None = None,
) -> VerifyResult:
    """Walk the sealed chain; stop at the first bad entry and name it.

    ``checkpoints`` default to the stored ones plus those exported to ``export``
    (default ``AUDIT_CHECKPOINT_EXPORT``); given ones are used with the stored ones.
    """
    listed = [*stored(), *(exported(export) if checkpoints is None else checkpoints)]
    pinned, window, failure = _trusted(listed)
    if failure is not None:
        return failure
    pending = sealer.pending_count()
    last = AuditEntry.objects.aggregate(last=Max("seq"))["last"] or 0
    start, previous, since = 1, GENESIS_HASH, 0
    if since_checkpoint:
        vouched = [seq for seq in pinned if seq <= last]
        if vouched:
            since = max(vouched)
            stored_hash = AuditEntry.objects.filter(seq=since).values_list("hash", flat=True)
            if stored_hash.first() != pinned[since]:
                return VerifyResult(False, 0, since, "differs from a signed checkpoint")
            start, previous = since + 1, pinned[since]
    key = next(_KEYS)
    _SIGNED[key] = (pinned, sorted(pinned), window, sorted(window))
    tasks = [
        (key, lo, hi, previous if lo == start else None)
        for lo, hi in _ranges(start, last, chunk_size)
    ]
    try:
        return _verified(tasks, workers, previous, last, pinned, progress, pending, since)
    finally:
        del _SIGNED[key]


def _verified(tasks, workers, previous, last, pinned, progress, pending, since) -> VerifyResult:
    """The ranges' results put together, and what lies beyond the last entry."""
    checked, covered, ledger_id = 0, {}, 0
    common = {"pending": pending, "since_seq": since}
    for result in _run(tasks, workers):
        if result.first_prev is not None and result.first_prev != previous:
            return VerifyResult(False, checked, result.lo, "predecessor link broken", **common)
        if result.failure is not None:
            seq, reason = result.failure
            return VerifyResult(False, checked + result.checked, seq, reason, **common)
        if result.ledger is not None:
            if result.ledger[0] <= ledger_id:
                return VerifyResult(False, checked, result.lo, "disclosure ledger differs")
            ledger_id = result.ledger[1]
        for request_id, count in result.covered.items():
            covered[request_id] = max(count, covered.get(request_id, 0))
        checked, previous = checked + result.checked, result.last_hash
        if progress is not None:
            progress(result.checked)
    stray = Disclosure.objects.filter(entry_seq__gt=last).order_by("id").first()
    if stray is not None:
        return VerifyResult(
            False, checked, stray.entry_seq, "disclosure ledger has a line no entry makes"
        )
    beyond = [seq for seq in pinned if seq > last]
    if beyond:
        reason = f"chain truncated: a signed checkpoint names entry {max(beyond)}"
        return VerifyResult(False, checked, last + 1, reason, **common)
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and head.seq > last:
        return VerifyResult(False, checked, last + 1, "chain truncated: head is further on")
    uncovered = None if since else field_digest.total_rows() - sum(covered.values())
    return VerifyResult(
        True,
        checked,
        head_seq=last,
        head_hash=previous,
        field_changes_uncovered=uncovered,
        **common,
    )
