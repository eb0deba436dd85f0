"""No lost update: two Daphne processes race conflicting transitions (accept against
reject) on one referral; one wins, the other gets 412 (its If-Match is stale) or 409
(the move is no longer legal), the history holds one change, the chain verifies."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from audit.models import Action, AuditEntry
from coordination.models import RecipientStatus, StatusChange
from tests import processes
from tests.coordination import live_helpers as h
from tests.reliability import wire
from tests.reliability.conftest import audit_chain_verifies
from tests.reliability.figures import report

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ROUNDS = 12  # the first half with If-Match, the rest without
MOVES = {"accept": {"action": "accept"}, "reject": {"action": "reject", "reason": "no space"}}


def test_conflicting_transitions_racing_on_two_processes_lose_no_update(
    members, agencies, consented, served_env
):
    referrals = [
        h.make_referral(members["liaison"], consented, [agencies["shelter"]]) for _ in range(ROUNDS)
    ]
    token = h.token_for(members["caseworker"])
    outcomes: dict[str, int] = {}
    with processes.daphne_group(2, env=served_env) as daphnes, ThreadPoolExecutor(2) as pool:
        for number, referral in enumerate(referrals):
            path = f"/api/v1/referrals/{referral.id}/"
            opened = wire.call(daphnes[0].port, "GET", path, token=token)  # requested → received
            assert opened.status == 200
            with_etag = number < ROUNDS // 2
            headers = {"If-Match": opened.headers["etag"]} if with_etag else {}
            recipient = RecipientStatus.objects.get(referral=referral)
            start = threading.Barrier(2)

            def race(daphne, move, headers=headers, path=path, start=start):
                start.wait(timeout=10)
                return wire.call(
                    daphne.port, "POST", f"{path}transitions/", token=token,
                    body=MOVES[move], headers=headers,
                )  # fmt: skip

            racing = {
                move: pool.submit(race, d, move) for d, move in zip(daphnes, MOVES, strict=True)
            }
            replies = {move: future.result() for move, future in racing.items()}
            statuses = sorted(reply.status for reply in replies.values())
            loser = statuses[1]
            assert statuses[0] == 200
            assert loser in ((412, 409) if with_etag else (409,))
            winner = next(move for move, reply in replies.items() if reply.status == 200)
            changes = StatusChange.objects.filter(
                recipient_status=recipient, action__in=list(MOVES)
            )
            assert [c.action for c in changes] == [winner]
            before = recipient.version
            recipient.refresh_from_db()
            assert recipient.status == {"accept": "accepted", "reject": "rejected"}[winner]
            assert recipient.version == before + 1
            assert (
                AuditEntry.objects.filter(
                    action=Action.TRANSITION, object_id=str(referral.pk)
                ).count()
                == 1
            )
            key = f"{'if_match' if with_etag else 'no_if_match'}_{winner}_won_loser_{loser}"
            outcomes[key] = outcomes.get(key, 0) + 1
    verified = audit_chain_verifies(served_env)
    report(
        "no_lost_update",
        races=ROUNDS,
        outcomes=outcomes,
        lost_updates=0,
        audit_chain_verifies=verified,
    )
    assert verified
