"""Revocation race: a read that begins after a revocation has committed never returns
the revoked fields. The revoker and the reader are separate processes talking to two
Daphnes; the reader learns of the commit only through a multiprocessing Event that
the revoker sets once the revocation's answer is in."""

from __future__ import annotations

import multiprocessing
import queue

import pytest

from coordination import services
from tests import processes
from tests.coordination import live_helpers as h
from tests.reliability import racers
from tests.reliability.figures import report

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ROUNDS = 6
REVOKED = ["identity", "contact"]


def test_a_read_begun_after_a_revocation_commits_never_shows_the_revoked_fields(
    members, agencies, served_env
):
    liaison = members["liaison"]
    consent_ids, referral_ids = [], []
    for number in range(ROUNDS):
        survivor = h.make_survivor(liaison)
        fields = h.consent_fields(agencies, "shelter", categories=[*REVOKED, "status_updates"])
        consent_ids.append(
            str(services.consent_record(actor=liaison, survivor_id=survivor.id, **fields).id)
        )
        if number % 2:  # half keep status updates under a second consent: 200, no fields
            services.consent_record(
                actor=liaison,
                survivor_id=survivor.id,
                **h.consent_fields(agencies, "shelter", categories=["status_updates"]),
            )
        referral = h.make_referral(liaison, survivor, [agencies["shelter"]])
        referral_ids.append(str(referral.id))
    liaison_token, caseworker_token = h.token_for(liaison), h.token_for(members["caseworker"])

    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    committed = [spawn.Event() for _ in range(ROUNDS)]
    results = spawn.Queue()
    with processes.daphne_group(2, env=served_env) as (writes_to, reads_from):
        workers = [
            spawn.Process(
                target=racers.revoker,
                args=(writes_to.port, liaison_token, consent_ids, start, committed, results),
            ),
            spawn.Process(
                target=racers.reader,
                args=(
                    reads_from.port,
                    caseworker_token,
                    referral_ids,
                    REVOKED,
                    start,
                    committed,
                    results,
                ),
            ),
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert [worker.exitcode for worker in workers] == [0, 0]
    revocations, reads = [], []
    while True:
        try:
            message = results.get(timeout=1)
        except queue.Empty:
            break
        (revocations if message[0] == "revoked" else reads).append(message[1:])

    assert revocations == [(200,)] * ROUNDS
    after = [(status, leaked) for began_after, status, leaked in reads if began_after]
    before = [(status, leaked) for began_after, status, leaked in reads if not began_after]
    figures = report(
        "revocation_race",
        rounds=ROUNDS,
        reads_before_commit=len(before),
        reads_before_commit_showing_fields=sum(leaked for _, leaked in before),
        reads_after_commit=len(after),
        reads_after_commit_showing_revoked_fields=sum(leaked for _, leaked in after),
        statuses_after_commit=sorted({status for status, _ in after}),
    )
    assert len(after) >= ROUNDS * racers.READS_AFTER
    assert figures["reads_after_commit_showing_revoked_fields"] == 0
    assert {status for status, _ in after} <= {200, 404}
