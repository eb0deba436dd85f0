"""SQL statements per referral read and write, pinned (STYLE.md: list views pin
their query counts). Counted as bench/read_bench.py counts them: the request through Django's
test client, SAVEPOINT/RELEASE not counted, BEGIN and COMMIT counted.

The request's own statements are pinned; the sealing after its commit is batched per
window (``audit.sealer``) and pinned apart, as one batch whatever it holds. Targets
(issue "Performance"): ≤ 8 for a detail read, ≤ 10 for the first read that marks it
received (8 on PostgreSQL; 11 on SQLite, which has no data-modifying WITH: see
bench/README.md), ≤ 8 for a list page of any size.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from agencies import services as agency_services
from audit import sealer
from audit.models import AuditEntry
from coordination.models import RecipientStatus
from tests.factories import ConsentFactory, ReferralFactory, SurvivorFactory

pytestmark = pytest.mark.django_db(transaction=True)

# token+user+membership, BEGIN, the statuses with their referral and its survivor, the
# facts (consents and the member's emergency accesses, one UNION ALL), entry, COMMIT
DETAIL = 6
LIST = 7  # the page, its statuses (prefetched), the facts: the same whatever its size
# An event: the hearers' decisions on the facts the actor's decision was made on (the
# referrer's back-releases among them: no query), then the event and the hearers' stream
# entries: one statement on PostgreSQL (a data-modifying WITH), two on SQLite.
EVENT = 1 if connection.features.has_select_for_update else 2
# A write carried by its event (``outbox.Carried``): on PostgreSQL a clause of the
# event's own statement, elsewhere a statement of its own.
CARRIED = 0 if connection.features.has_select_for_update else 1
# A status move: its conditional UPDATE and its history row (carried), and the history
# row's field diff (django-auditlog).
MOVE = 2 * CARRIED + 1
FIRST_READ = DETAIL + MOVE + EVENT  # the read's statements, the move, its event
# A write's own audit entry is carried by its event too (the read's, of DETAIL, is not).
NOTE = DETAIL - 1 + CARRIED + CARRIED + 1 + EVENT  # the request's, the note, its diff, entry
TRANSITION = DETAIL - 1 + MOVE + CARRIED + EVENT  # the request's, the move, its entry
# Read without the write lock: the waiting entries with the head as it stands (one
# statement), their field diffs; then the write transaction: BEGIN, the head locked
# (with the newest checkpoint), entries, ledger, head, COMMIT, and the access-alert rules
# (audit.alert_watch): mark, tallies, survivor sets, agencies' hours (and writes only
# where a tally moved: not here, the same survivor read again).
SEALING = 2 + 6 + 4


def _statements(context) -> int:
    return sum(
        1
        for query in context.captured_queries
        if not query["sql"].lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))
    )


@pytest.fixture
def caseworker_api(members):
    _, key = agency_services.token_issue(member=members["caseworker"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _referrals(agencies, members, count: int, status: str = "received") -> list:
    made = []
    for _ in range(count):
        survivor = SurvivorFactory(
            owner_agency=agencies["police"], created_by=members["liaison"].user
        )
        ConsentFactory(
            survivor=survivor,
            recipients=[agencies["shelter"]],
            categories=["identity", "narrative"],
            expires_at=timezone.now() + timedelta(days=30),
        )
        referral = ReferralFactory(survivor=survivor, to=[agencies["shelter"]])
        RecipientStatus.objects.filter(referral=referral).update(status=status)
        made.append(referral)
    return made


def _counted(client, path: str) -> int:
    sealer.flush()
    with CaptureQueriesContext(connection) as context:
        response = client.get(path, secure=True)
    assert response.status_code == 200, response.content
    return _statements(context)


def test_a_repeated_detail_read_costs_six_statements(
    agencies, members, caseworker_api, deferred_sealing
):
    (referral,) = _referrals(agencies, members, 1)
    assert _counted(caseworker_api, f"/api/v1/referrals/{referral.id}/") == DETAIL


def test_the_first_read_that_marks_a_referral_received(
    agencies, members, caseworker_api, deferred_sealing
):
    warm, referral = _referrals(agencies, members, 2, status="requested")
    # (the first event of a flushed database creates its counters: not counted)
    assert caseworker_api.get(f"/api/v1/referrals/{warm.id}/", secure=True).status_code == 200
    assert _counted(caseworker_api, f"/api/v1/referrals/{referral.id}/") == FIRST_READ
    assert RecipientStatus.objects.get(referral=referral).status == "received"


@pytest.mark.parametrize("size", [5, 50])
def test_a_list_page_costs_the_same_whatever_its_size(
    size, agencies, members, caseworker_api, deferred_sealing
):
    _referrals(agencies, members, size)
    path = f"/api/v1/referrals/?page_size={size}"
    with CaptureQueriesContext(connection):
        assert len(caseworker_api.get(path, secure=True).json()["results"]) == size
    assert _counted(caseworker_api, path) == LIST


def test_one_sealing_seals_a_batch_in_the_same_statements_as_one_entry(
    agencies, members, caseworker_api, deferred_sealing
):
    (referral,) = _referrals(agencies, members, 1)
    path = f"/api/v1/referrals/{referral.id}/"
    # Within one clock hour, after a first read (which starts the member's tally and
    # survivor set of the hour): a batch then costs the rules what one entry does.
    next_hour = (timezone.now() + timedelta(hours=1)).replace(minute=5)
    with time_machine.travel(next_hour, tick=True):
        assert caseworker_api.get(path, secure=True).status_code == 200
        for waiting in (1, 10):
            sealer.flush()
            for _ in range(waiting):
                assert caseworker_api.get(path, secure=True).status_code == 200
            assert sealer.pending_count() == waiting
            with CaptureQueriesContext(connection) as context:
                assert len(sealer.flush()) == waiting
            assert _statements(context) == SEALING
    assert not AuditEntry.objects.filter(hash__isnull=True).exists()


def _posted(client, path: str, body: dict, expected: int) -> int:
    sealer.flush()
    with CaptureQueriesContext(connection) as context:
        response = client.post(path, body, format="json", secure=True)
    assert response.status_code == expected, response.content
    return _statements(context)


def test_a_note_costs_the_request_and_its_writes(
    agencies, members, caseworker_api, deferred_sealing
):
    warm, referral = _referrals(agencies, members, 2)
    # (the first write of a flushed database creates the counters: not counted)
    assert _posted(caseworker_api, f"/api/v1/referrals/{warm.id}/notes/", {"text": "Hi."}, 201)
    path = f"/api/v1/referrals/{referral.id}/notes/"
    assert _posted(caseworker_api, path, {"text": "A counted note."}, 201) == NOTE
    assert _posted(caseworker_api, path, {"text": "And another."}, 201) == NOTE


@pytest.mark.parametrize("actions", [("accept", "start", "hold", "start")])
def test_each_transition_costs_the_request_and_its_writes(
    actions, agencies, members, caseworker_api, deferred_sealing
):
    warm, referral = _referrals(agencies, members, 2)
    assert _posted(
        caseworker_api, f"/api/v1/referrals/{warm.id}/transitions/", {"action": "accept"}, 200
    )
    path = f"/api/v1/referrals/{referral.id}/transitions/"
    for action in actions:
        body = {"action": action, **({"reason": "Waiting."} if action == "hold" else {})}
        assert _posted(caseworker_api, path, body, 200) == TRANSITION
    assert RecipientStatus.objects.get(referral=referral).status == "in_progress"
