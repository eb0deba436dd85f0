"""Sealing after commit runs on this process's sealer thread (``audit.sealer``), never
on the committing thread: a commit only wakes the thread, which seals at most once per
``WINDOW`` (every entry waiting by then), each entry within the second DESIGN.md allows;
a process that exits seals what waits, a forked child seals its own entries."""

import logging
import multiprocessing
import random
import threading
import time

import pytest
from django.db import connections, transaction

from audit import sealer
from audit.models import AuditEntry
from audit.recorder import Actor, record
from audit.verify import verify_chain

pytestmark = pytest.mark.django_db(transaction=True)

BOUND = 1.0  # DESIGN.md, Audit trail: every entry sealed within a second


def _committed_entry(n: int) -> AuditEntry:
    with transaction.atomic():  # a service's transaction: the entry is sealed after it
        return record(action="view", actor=Actor(user_id=n), object_type="t", object_id=n)


def _sealed(entry: AuditEntry) -> bool:
    return AuditEntry.objects.filter(pk=entry.pk, hash__isnull=False).exists()


def _all_sealed_within(seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while sealer.pending_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    return sealer.pending_count() == 0


def _observed(sealings: list, pks) -> dict[int, float]:
    """pk -> when its sealing batch ended, once every one of ``pks`` is in ``sealings``
    (a batch is noted just after its commit, which a poll may see first)."""
    deadline = time.monotonic() + 5
    while True:
        ended = {pk: end for _, _, end, batch in list(sealings) for pk in batch}
        if set(pks) <= set(ended) or time.monotonic() > deadline:
            return ended
        time.sleep(0.01)


def _sealer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "audit-sealer"]


@pytest.fixture
def sealings(monkeypatch):
    """Every sealing batch as (thread, started, ended, sealed pks)."""
    seen: list[tuple[threading.Thread, float, float, list[int]]] = []
    original = sealer._seal_batch

    def observed():
        started = time.monotonic()
        sealed = original()
        seen.append((threading.current_thread(), started, time.monotonic(), [e.pk for e in sealed]))
        return sealed

    monkeypatch.setattr(sealer, "_seal_batch", observed)
    return seen


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.setattr(sealer, "WINDOW", 0.3)
    monkeypatch.setattr(sealer, "LATEST", 0.6)
    sealer.flush()
    time.sleep(0.35)  # a quiet spell: the next commit's sealing is due at once
    yield
    sealer.flush()


@pytest.mark.parametrize("pattern", ["one", "burst", "spread"])
def test_commits_never_seal_on_their_thread_and_each_entry_is_sealed_within_the_bound(
    quiet, sealings, pattern
):
    gaps = {"one": [0.0], "burst": [0.0] * 8, "spread": [random.uniform(0, 0.2) for _ in range(8)]}
    committed: dict[int, float] = {}
    for n, gap in enumerate(gaps[pattern]):
        time.sleep(gap)
        entry = _committed_entry(n)
        committed[entry.pk] = time.monotonic()
    assert _all_sealed_within(2 * BOUND)
    sealed_at = _observed(sealings, committed)
    assert set(sealed_at) == set(committed)
    assert all(thread.name == "audit-sealer" for thread, *_ in sealings)
    assert threading.current_thread() not in {thread for thread, *_ in sealings}
    assert max(sealed_at[pk] - committed[pk] for pk in committed) < BOUND
    result = verify_chain()
    assert (result.ok, result.checked, result.pending) == (True, len(committed), 0)


def test_a_commit_returns_while_its_sealing_is_still_running(quiet, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    original = sealer._seal_batch

    def slow():
        entered.set()
        release.wait(timeout=10)
        return original()

    monkeypatch.setattr(sealer, "_seal_batch", slow)
    started = time.monotonic()
    entry = _committed_entry(1)
    returned = time.monotonic() - started
    assert entered.wait(timeout=5)  # the sealing began, and it blocks ...
    assert returned < 1.0  # ... yet the commit had returned
    assert not _sealed(entry)
    release.set()
    assert _all_sealed_within(5)


def test_commits_within_the_window_are_sealed_together(quiet, sealings):
    first = _committed_entry(0)
    assert _all_sealed_within(BOUND)
    waiting = [_committed_entry(n) for n in range(1, 6)]  # inside the window
    assert _all_sealed_within(BOUND)
    _observed(sealings, [first.pk] + [e.pk for e in waiting])
    batches = [pks for *_, pks in sealings if pks]
    assert batches[0] == [first.pk]
    assert sorted(pk for pks in batches[1:] for pk in pks) == [e.pk for e in waiting]
    assert len(batches) <= 3  # not one sealing per commit
    assert [e.seq for e in AuditEntry.objects.order_by("seq")] == list(range(1, 7))


def test_flush_seals_everything_waiting_now_on_the_caller(quiet, monkeypatch):
    monkeypatch.setattr(sealer, "WINDOW", 3600.0)  # the thread waits: only flush seals
    monkeypatch.setattr(sealer, "LATEST", 3600.0)
    sealer.flush()
    for n in range(4):
        _committed_entry(n)
    assert sealer.pending_count() == 4
    assert len(sealer.flush()) == 4
    assert verify_chain().ok


def test_a_failed_sealing_is_logged_and_the_next_seals_its_entries(quiet, monkeypatch, caplog):
    original, failures = sealer._seal_batch, []

    def fails_once():
        if not failures:
            failures.append(1)
            raise RuntimeError("the database went away")
        return original()

    monkeypatch.setattr(sealer, "_seal_batch", fails_once)
    with caplog.at_level(logging.ERROR, logger="audit.sealer"):
        lost = _committed_entry(1)
        deadline = time.monotonic() + 5
        while not failures and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
    assert failures
    assert not _sealed(lost)
    assert "entries wait for the next sealing" in caplog.text
    _committed_entry(2)
    assert _all_sealed_within(2 * BOUND)
    assert verify_chain().checked == 2


def test_reset_ends_the_thread_and_seals_nothing(quiet, monkeypatch):
    _committed_entry(1)  # after the quiet spell: sealed at once by the thread
    assert _all_sealed_within(BOUND)
    monkeypatch.setattr(sealer, "WINDOW", 3600.0)
    monkeypatch.setattr(sealer, "LATEST", 3600.0)
    waiting = _committed_entry(2)  # waits for the window
    assert _sealer_threads()
    sealer.reset()
    assert not _sealer_threads()
    assert not _sealed(waiting)


def test_an_idle_sealer_thread_ends_after_lingering(quiet, monkeypatch):
    monkeypatch.setattr(sealer, "LINGER", 0.2)
    _committed_entry(1)
    assert _all_sealed_within(BOUND)
    deadline = time.monotonic() + 5
    while _sealer_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _sealer_threads()
    _committed_entry(2)  # the next commit starts another
    assert _all_sealed_within(BOUND)


def _commit_and_exit(first: int, count: int) -> None:
    connections.close_all()
    for n in range(first, first + count):
        _committed_entry(n)
    # returns at once: the entries wait (the window is an hour) until the exit seals them


def test_a_process_that_exits_seals_what_waits_and_does_not_linger(quiet, monkeypatch):
    monkeypatch.setattr(sealer, "WINDOW", 3600.0)
    monkeypatch.setattr(sealer, "LATEST", 3600.0)
    monkeypatch.setattr(sealer, "LINGER", 3600.0)
    connections.close_all()
    child = multiprocessing.get_context("fork").Process(target=_commit_and_exit, args=(0, 5))
    started = time.monotonic()
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert time.monotonic() - started < 30  # not held by the lingering thread
    result = verify_chain()
    assert (result.ok, result.checked, result.pending) == (True, 5, 0)


def test_a_forked_child_seals_its_own_entries_and_the_parent_goes_on(quiet):
    _committed_entry(0)  # the parent's sealer thread is alive when it forks
    assert _all_sealed_within(BOUND)
    assert _sealer_threads()
    connections.close_all()
    children = [
        multiprocessing.get_context("fork").Process(target=_commit_and_exit, args=(10 * n, 4))
        for n in (1, 2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
    assert [child.exitcode for child in children] == [0, 0]
    _committed_entry(99)
    assert _all_sealed_within(2 * BOUND)
    result = verify_chain()
    assert (result.ok, result.checked, result.pending) == (True, 10, 0)
