"""Sealing after commit is batched per process (``audit.sealer``): a commit seals at
once after a quiet window, commits within the window leave their entries to the next
sealing, and an entry left waiting is sealed by the timer within ``LATEST``."""

import time

import pytest
from django.db import transaction

from audit import sealer
from audit.models import AuditEntry
from audit.recorder import Actor, record
from audit.verify import verify_chain

pytestmark = pytest.mark.django_db(transaction=True)


def _committed_entry(n: int) -> AuditEntry:
    with transaction.atomic():  # a service's transaction: the entry is sealed after it
        return record(action="view", actor=Actor(user_id=n), object_type="t", object_id=n)


def _sealed(entry: AuditEntry) -> bool:
    return AuditEntry.objects.filter(pk=entry.pk, hash__isnull=False).exists()


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.setattr(sealer, "WINDOW", 0.5)
    monkeypatch.setattr(sealer, "LATEST", 1.0)
    sealer.flush()
    time.sleep(0.6)  # a quiet spell: the next commit seals at once
    yield
    sealer.flush()


def test_a_commit_after_a_quiet_window_is_sealed_at_once(quiet):
    assert _sealed(_committed_entry(1))


def test_commits_within_the_window_wait_and_the_timer_seals_them(quiet):
    first = _committed_entry(1)
    waiting = [_committed_entry(n) for n in (2, 3, 4)]
    assert _sealed(first)
    assert sealer.pending_count() == 3
    deadline = time.monotonic() + 5
    while sealer.pending_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_sealed(entry) for entry in waiting)
    result = verify_chain()
    assert (result.ok, result.checked, result.pending) == (True, 4, 0)


def test_the_next_commit_after_the_window_seals_what_waited_with_it(quiet, monkeypatch):
    monkeypatch.setattr(sealer, "LATEST", 3600.0)  # no timer: only a commit seals
    _committed_entry(1)
    waiting = _committed_entry(2)
    assert not _sealed(waiting)
    time.sleep(0.6)
    last = _committed_entry(3)
    assert _sealed(waiting)
    assert _sealed(last)
    assert [e.seq for e in AuditEntry.objects.order_by("seq")] == [1, 2, 3]


def test_flush_seals_everything_waiting_now(quiet, monkeypatch):
    monkeypatch.setattr(sealer, "LATEST", 3600.0)
    _committed_entry(1)
    for n in range(2, 6):
        _committed_entry(n)
    assert sealer.pending_count() == 4
    assert len(sealer.flush()) == 4
    assert verify_chain().ok
