"""Entries commit unsealed with their access and are sealed after commit: no chain
lock while a request works, one intact chain under concurrent writers."""

import multiprocessing
import threading
import time

import pytest
from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone

from audit.models import AuditEntry, ChainHead
from audit.recorder import Actor, record
from audit.sealer import pending_count, seal_pending
from audit.verify import verify_chain


@pytest.mark.django_db(transaction=True)
def test_an_entry_inside_a_transaction_is_sealed_after_its_commit():
    with transaction.atomic():
        entry = record(action="view", actor=Actor(user_id=1), object_type="referral")
        assert entry.seq is None  # nothing locked or linked yet
        assert entry.hash is None
        # (a flushed test database may lack the head row until the first seal)
        assert ChainHead.objects.filter(pk=1, seq__gt=0).count() == 0
    deadline = time.monotonic() + 1  # sealed by the sealer thread, within the second
    while pending_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    entry.refresh_from_db()
    assert entry.seq == 1
    assert entry.hash
    assert (verify_chain().ok, pending_count()) == (True, 0)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_access_leaves_no_entry():
    def failing_access():
        with transaction.atomic():
            record(action="view", actor=None)
            raise RuntimeError("the access fails after its entry was written")

    with pytest.raises(RuntimeError):
        failing_access()
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_entry_whose_seal_was_lost_waits_and_is_counted_then_sealed():
    record(action="view", actor=None)
    # committed, its sealing lost (the process died between commit and seal)
    AuditEntry.objects.create(action="view", outcome="allowed", at=timezone.now())
    result = verify_chain()
    assert (result.ok, result.checked, result.pending) == (True, 1, 1)
    assert len(seal_pending()) == 1
    assert verify_chain().checked == 2


def _writer(n, per_process):
    connections.close_all()
    for i in range(per_process):
        with transaction.atomic():  # a service's transaction: the entry, then more work
            record(action="view", actor=Actor(user_id=n), object_type="t", object_id=i)
            time.sleep(0.01)
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_processes_leave_one_intact_chain_with_every_entry_sealed():
    processes, per_process = 4, 15
    connections.close_all()
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(n, per_process)) for n in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * processes
    assert pending_count() == 0
    result = verify_chain()
    assert (result.ok, result.checked) == (True, processes * per_process)


@pytest.mark.production
@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_holds_no_chain_lock():
    """While one request's transaction (with its entry) stays open, another request
    appends and is sealed: the chain head is not locked by the first."""
    written, release, errors = threading.Event(), threading.Event(), []

    def slow_request():
        try:
            with transaction.atomic():
                record(action="view", actor=Actor(user_id=1))
                written.set()
                release.wait(timeout=30)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    slow = threading.Thread(target=slow_request)
    slow.start()
    assert written.wait(timeout=30)
    started = time.monotonic()
    record(action="view", actor=Actor(user_id=2))
    assert time.monotonic() - started < 5
    assert AuditEntry.objects.filter(actor_user_id=2, hash__isnull=False).exists()
    release.set()
    slow.join(timeout=30)
    assert errors == []
    # The slow request's entry: sealed by the process's sealer thread, within the second.
    deadline = time.monotonic() + 2
    while pending_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (verify_chain().checked, pending_count()) == (2, 0)
