"""Exactly once: a thousand concurrent retries of one ``Idempotency-Key`` POST, with a
Daphne worker killed (SIGKILL) in the middle of the creation, leave one referral, one
audit entry for its creation and no key pending; every answer is the same 201."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from audit.models import Action, AuditEntry
from coordination.models import IdempotencyRecord, Referral, StreamCounter
from tests import processes
from tests.coordination import live_helpers as h
from tests.reliability import storm, wire
from tests.reliability.conftest import audit_chain_verifies
from tests.reliability.figures import report

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

KEY = "reliability-exactly-once"


def referral_body(consented, agencies) -> dict:
    return {
        "survivor": str(consented.id),
        "recipients": [agencies["shelter"].id],
        "needs": ["shelter"],
        "urgency": "high",
    }


def poster(token: str, body: dict):
    def send(port: int) -> wire.Reply:
        return wire.call(
            port,
            "POST",
            "/api/v1/referrals/",
            token=token,
            body=body,
            headers={"Idempotency-Key": KEY},
            timeout=60,
        )

    return send


def wait_until(condition, *, timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def lock_waiters() -> int:
    """Backends of the test database waiting for a row or transaction lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def assert_exactly_once(tally: storm.Tally, warm_up: Referral, served_env) -> dict:
    created = Referral.objects.exclude(pk=warm_up.pk)
    creations = AuditEntry.objects.filter(action=Action.CREATE, object_type="referral").exclude(
        object_id=str(warm_up.pk)
    )
    figures = {
        "retries_sent": tally.sends,
        "answered": tally.sends - tally.unanswered,
        "unanswered_during_kill": tally.unanswered,
        "replayed": tally.replayed,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "referrals_created": created.count(),
        "creation_audit_entries": creations.count(),
        "keys_pending": IdempotencyRecord.objects.filter(status_code__isnull=True).count(),
        "5xx": tally.server_errors,
    }
    assert figures["referrals_created"] == 1
    assert figures["creation_audit_entries"] == 1
    assert figures["keys_pending"] == 0
    assert set(tally.statuses) == {201}, tally.statuses
    assert tally.created_ids == {str(created.get().pk)}
    assert IdempotencyRecord.objects.get(key=KEY).status_code == 201
    figures["audit_chain_verifies"] = audit_chain_verifies(served_env)
    assert figures["audit_chain_verifies"]
    return figures


@pytest.mark.production
def test_a_thousand_retries_with_a_worker_killed_mid_creation_create_one_referral(
    members, agencies, consented, served_env
):
    token = h.token_for(members["liaison"])
    send = poster(token, referral_body(consented, agencies))
    # Another referral first: the streams' counters exist, so a lock on the referrer's holds the
    # creation below inside its transaction, after its referral and audit rows.
    warm_up = h.make_referral(members["liaison"], consented, [agencies["shelter"]])
    held, release = threading.Event(), threading.Event()

    def hold_the_outbox_counter() -> None:
        try:
            with transaction.atomic():
                StreamCounter.objects.select_for_update().get(agency=agencies["police"])
                held.set()
                release.wait(60)
        finally:
            connection.close()

    with processes.daphne_group(2, env=served_env) as (doomed, survivor):
        blocker = threading.Thread(target=hold_the_outbox_counter)
        blocker.start()
        try:
            assert held.wait(10)
            first = threading.Thread(target=send, args=(doomed.port,))
            first.start()
            wait_until(lambda: lock_waiters() >= 1, what="the creation to wait on the counter")
            result: dict = {}
            storming = threading.Thread(
                target=lambda: result.update(
                    tally=storm.retry_storm(
                        [survivor.port, doomed.port],
                        attempts=1000,
                        clients=50,
                        send=send,
                        deadline=time.monotonic() + 180,
                    )
                )
            )
            storming.start()
            wait_until(lambda: lock_waiters() >= 10, what="retries queued behind the creation")
            doomed.kill()  # mid-creation: its claim, referral and audit entry uncommitted
        finally:
            release.set()
            blocker.join(30)
        first.join(60)
        doomed.start()  # back while the storm goes on
        storming.join(240)
        assert not storming.is_alive()
    figures = assert_exactly_once(result["tally"], warm_up, served_env)
    report("exactly_once", workers_killed=1, **figures)


def test_retries_with_workers_killed_at_random_create_one_referral(
    members, agencies, consented, served_env
):
    """The embedded profile's variant (SQLite runs one writer at a time): fewer
    retries, and two workers killed while the retries run."""
    token = h.token_for(members["liaison"])
    send = poster(token, referral_body(consented, agencies))
    warm_up = h.make_referral(members["liaison"], consented, [agencies["shelter"]])
    with processes.daphne_group(2, env=served_env) as daphnes:
        result: dict = {}
        storming = threading.Thread(
            target=lambda: result.update(
                tally=storm.retry_storm(
                    [d.port for d in daphnes],
                    attempts=200,
                    clients=20,
                    send=send,
                    deadline=time.monotonic() + 120,
                )
            )
        )
        storming.start()
        for victim in daphnes:
            time.sleep(0.3)
            victim.kill()
            victim.start()
        storming.join(180)
        assert not storming.is_alive()
    figures = assert_exactly_once(result["tally"], warm_up, served_env)
    report("exactly_once_kill_at_random", workers_killed=len(daphnes), **figures)
