"""The hash chain: every append links to its predecessor, also under concurrency."""

import threading

import pytest
from django.db import close_old_connections, connection

from audit.chain import GENESIS_HASH, content_of, entry_hash
from audit.models import AuditEntry
from audit.recorder import Actor, record


def assert_chain_intact():
    previous = GENESIS_HASH
    entries = list(AuditEntry.objects.order_by("seq"))
    for expected_seq, entry in enumerate(entries, start=1):
        assert entry.seq == expected_seq
        assert entry.prev_hash == previous
        assert entry.hash == entry_hash(previous, content_of(entry))
        previous = entry.hash
    return len(entries)


@pytest.mark.django_db
def test_entries_chain_from_genesis_and_hash_their_content():
    for n in range(5):
        record(action="view", actor=Actor(user_id=n, username=f"u{n}"), object_type="thing")
    assert assert_chain_intact() == 5


@pytest.mark.django_db
def test_changing_any_hashed_field_changes_the_hash():
    entry = record(action="view", actor=None, survivor_ref="S-AAAAAAAA", categories=["identity"])
    content = content_of(entry)
    for name, value in [
        ("survivor_ref", "S-BBBBBBBB"),
        ("categories", ["contact"]),
        ("outcome", "denied"),
        ("actor_user_id", 99),
    ]:
        assert entry_hash(entry.prev_hash, {**content, name: value}) != entry.hash


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    threads, per_thread, errors = 4, 15, []

    def writer(n):
        try:
            for i in range(per_thread):
                record(action="view", actor=Actor(user_id=n), object_type="t", object_id=i)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    assert assert_chain_intact() == threads * per_thread
