"""A sealing reads and hashes without the write lock, then writes in a short
transaction only if the head has not moved (``audit.sealer._seal_batch``): a sealing
that runs between another's read and its write leaves one intact chain, every entry
sealed once (its ledger lines written once); after ``MISSES`` moves the sealing seals
under the lock throughout."""

import threading

import pytest
from django.db import connection, transaction

from audit import sealer
from audit.models import AuditEntry, ChainHead, Disclosure
from audit.recorder import Actor, record
from audit.verify import verify_chain

pytestmark = pytest.mark.django_db(transaction=True)


def _committed(count: int, first: int) -> None:
    """``count`` reads that make a ledger line each, committed unsealed (they wait)."""
    for n in range(first, first + count):
        with transaction.atomic():
            record(
                action="view",
                actor=Actor(user_id=n, agency_id=2, agency="shelter", role="caseworker"),
                object_type="referral",
                object_id=n,
                survivor_ref=f"S-{n:04d}",
                categories=["identity"],
                consent_ids=[f"consent-{n}"],
            )


def _in_another_thread(work) -> None:
    """``work`` on a thread of its own (its own connection), as another process would."""
    errors = []

    def run():
        try:
            work()
        except Exception as error:  # asserted below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert errors == []


@pytest.mark.parametrize("interlopers", [1, sealer.MISSES, sealer.MISSES + 1])
@pytest.mark.parametrize("sealed_by_interloper", ["all", "none"])
def test_a_head_that_moves_between_read_and_write_leaves_one_chain(
    deferred_sealing, monkeypatch, interlopers, sealed_by_interloper
):
    """Between each of the first ``interlopers`` reads and their write, another sealing
    seals what waits (or an entry of its own only) and more entries commit."""
    _committed(3, first=0)
    original, calls, heads_seen = sealer._linked, [], []
    main = threading.current_thread()

    def interloper():
        if sealed_by_interloper == "all":
            sealer._seal_locked()  # seals the batch the first sealing just read
        else:
            record(action="view", actor=Actor(user_id=99))  # seals its own: all waiting
        _committed(2, first=100 + 10 * len(calls))

    def linked(pending, seq, previous):
        lines = original(pending, seq, previous)
        if threading.current_thread() is not main:
            return lines
        heads_seen.append((seq, connection.in_atomic_block))
        if len(calls) < interlopers and not connection.in_atomic_block:
            calls.append(1)
            _in_another_thread(interloper)
        return lines

    monkeypatch.setattr(sealer, "_linked", linked)
    sealed = sealer.seal_pending()
    sealer._linked = original
    sealer.seal_pending()  # what the interlopers left waiting, if anything
    assert len(calls) == min(interlopers, sealer.MISSES)  # bounded: then under the lock
    # A miss re-read and re-hashed onto the moved head; past MISSES, under the lock.
    locked = [in_block for _, in_block in heads_seen]
    assert locked.count(True) == (1 if interlopers >= sealer.MISSES else 0)
    assert len({seq for seq, _ in heads_seen}) == len(heads_seen)
    entries = list(AuditEntry.objects.order_by("seq").values_list("seq", "hash", "id"))
    assert sealer.pending_count() == 0
    assert [seq for seq, *_ in entries] == list(range(1, len(entries) + 1))
    assert len({pk for *_, pk in entries}) == len(entries)
    assert {entry.pk for entry in sealed} <= {pk for *_, pk in entries}
    head = ChainHead.objects.get(pk=1)
    assert (head.seq, head.hash) == entries[-1][:2]
    # Each read's ledger line written once: by the sealing that wrote its seal.
    reads = AuditEntry.objects.filter(survivor_ref__startswith="S-")
    assert Disclosure.objects.count() == reads.count()
    assert sorted(Disclosure.objects.values_list("entry_seq", flat=True)) == sorted(
        reads.values_list("seq", flat=True)
    )
    result = verify_chain()
    assert (result.ok, result.checked, result.pending) == (True, len(entries), 0)


def test_a_sealing_with_nothing_waiting_takes_no_write_transaction(deferred_sealing):
    _committed(1, first=0)
    sealer.seal_pending()
    with pytest.MonkeyPatch.context() as patch:
        began = []
        patch.setattr(transaction, "atomic", lambda *a, **k: began.append(1))
        assert sealer._seal_batch() == []
    assert began == []
