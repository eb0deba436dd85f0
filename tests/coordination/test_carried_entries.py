"""A write's own audit entry is written with its change and event (``outbox.Carried``:
in the event's statement on PostgreSQL): once per request, whatever the number of
statuses moved, and sealed into an intact chain like any other."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from audit import recorder, sealer
from audit.models import Action, AuditEntry
from audit.verify import verify_chain
from coordination import states
from coordination.models import Event, RecipientStatus
from tests.conftest import client_for
from tests.factories import ConsentFactory, ReferralFactory, SurvivorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _referral(agencies, members, recipients: list[str], status: str):
    survivor = SurvivorFactory(owner_agency=agencies["police"], created_by=members["liaison"].user)
    ConsentFactory(
        survivor=survivor,
        recipients=[agencies[name] for name in recipients],
        categories=["identity", "narrative"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    referral = ReferralFactory(survivor=survivor, to=[agencies[name] for name in recipients])
    RecipientStatus.objects.filter(referral=referral).update(status=status)
    return referral


def _the_requests_entries(response) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(request_id=response["X-Request-ID"]))


WRITES = [
    ("caseworker", ["shelter"], "received", "transitions", {"action": "accept"}, 200),
    ("caseworker", ["shelter"], "accepted", "transitions", {"action": "start"}, 200),
    (
        "caseworker",
        ["shelter"],
        "in_progress",
        "transitions",
        {"action": "hold", "reason": "W."},
        200,
    ),
    (
        "liaison",
        ["shelter", "legal"],
        "received",
        "transitions",
        {"action": "cancel", "reason": "W."},
        200,
    ),
    ("caseworker", ["shelter"], "accepted", "notes", {"text": "A note."}, 201),
    ("liaison", ["shelter", "legal"], "accepted", "notes", {"text": "A note."}, 201),
]


@pytest.mark.parametrize(("who", "recipients", "status", "what", "body", "expected"), WRITES)
def test_a_write_leaves_exactly_its_one_entry_sealed_in_an_intact_chain(
    agencies, members, deferred_sealing, who, recipients, status, what, body, expected
):
    referral = _referral(agencies, members, recipients, status)
    events = Event.objects.count()
    response = client_for(members[who]).post(
        f"/api/v1/referrals/{referral.id}/{what}/", body, format="json", secure=True
    )
    assert response.status_code == expected, response.content
    (entry,) = _the_requests_entries(response)
    moves = len(recipients) if body.get("action") == "cancel" else 1
    assert Event.objects.count() == events + moves
    if what == "notes":
        assert (entry.action, entry.object_type) == (Action.CREATE, "case_note")
        assert entry.object_id == str(uuid.UUID(response.json()["id"]))
        assert response.json()["id"] == entry.object_id  # the API's own form: dashed
    else:
        target = states.TRANSITIONS[body["action"]].target
        assert (entry.action, entry.object_id) == (Action.TRANSITION, str(referral.id))
        assert entry.detail["statuses"] == [target]
        statuses = RecipientStatus.objects.filter(referral=referral)
        assert set(statuses.values_list("status", flat=True)) == {target}
    assert entry.survivor_ref == referral.survivor.ref
    assert entry.hash is None  # waits for the sealing after commit
    sealer.flush()
    entry.refresh_from_db()
    assert entry.hash is not None
    assert verify_chain().ok


WRITERS = {
    "record": lambda: recorder.record(action=Action.VIEW, actor=None, survivor="R-1"),
    "entry_by": lambda: recorder.entry_by(None, Action.VIEW, "referral", "x", survivor="R-1"),
}


@pytest.mark.parametrize("write", sorted(WRITERS))
def test_an_unknown_fact_is_refused_not_dropped(write):
    """A misspelt keyword must not leave an entry without what it was meant to say."""
    before = AuditEntry.objects.count()
    with pytest.raises(TypeError, match="survivor"):
        WRITERS[write]()
    assert AuditEntry.objects.count() == before
