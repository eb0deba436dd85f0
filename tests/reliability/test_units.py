"""``audit.units``: a service is one durable transaction on its own and joins a
request-level unit when one is open, so an ``Idempotency-Key``'s claim, the creation
and the stored response commit together; a crash between them leaves nothing."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from audit.models import Action, AuditEntry
from audit.units import joined, request_unit
from consent.models import Survivor
from coordination.models import Event, IdempotencyRecord, Referral
from tests.conftest import client_for
from tests.coordination import live_helpers as h

pytestmark = pytest.mark.django_db(transaction=True)


class Crash(Exception):
    """The process dying between two steps of a request."""


def test_a_service_refuses_to_run_inside_a_callers_transaction(members):
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        h.make_survivor(members["liaison"])


def test_a_service_in_a_request_unit_commits_or_rolls_back_with_it(members):
    def create_then_crash():
        with request_unit():
            assert joined()
            h.make_survivor(members["liaison"])
            raise Crash

    with pytest.raises(Crash):
        create_then_crash()
    assert not joined()
    assert not Survivor.objects.exists()
    assert not AuditEntry.objects.filter(object_type="survivor").exists()


def test_the_audit_entry_is_sealed_after_the_units_one_commit(members):
    with request_unit():
        survivor = h.make_survivor(members["liaison"])
        entry = AuditEntry.objects.get(action=Action.CREATE, object_id=survivor.pk)
        assert entry.hash is None  # sealing waits for the unit to commit
    deadline = time.monotonic() + 1  # then the sealer thread seals it, within the second
    while not AuditEntry.objects.filter(pk=entry.pk, hash__isnull=False).exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    entry.refresh_from_db()
    assert entry.hash
    assert entry.seq


def test_a_crash_before_the_response_is_stored_leaves_no_referral_and_no_key(
    members, agencies, consented, monkeypatch
):
    """The old crash window: the service had committed, the key stayed pending, and a
    retry after STALE_AFTER created the referral again."""
    liaison = client_for(members["liaison"])
    body = {
        "survivor": str(consented.id),
        "recipients": [agencies["shelter"].id],
        "needs": ["shelter"],
        "urgency": "high",
    }
    events_before = Event.objects.count()
    stored = IdempotencyRecord.save

    def crash_when_storing_the_response(record, *args, **kwargs):
        if record.status_code is not None:
            raise Crash
        return stored(record, *args, **kwargs)

    monkeypatch.setattr(IdempotencyRecord, "save", crash_when_storing_the_response)
    liaison.raise_request_exception = False
    crashed = liaison.post(
        "/api/v1/referrals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-crash"
    )
    assert crashed.status_code == 500
    assert not Referral.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    assert Event.objects.count() == events_before
    assert not AuditEntry.objects.filter(action=Action.CREATE, object_type="referral").exists()

    monkeypatch.setattr(IdempotencyRecord, "save", stored)
    first = liaison.post("/api/v1/referrals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-crash")
    again = liaison.post("/api/v1/referrals/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-crash")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Referral.objects.count() == 1
    assert AuditEntry.objects.filter(action=Action.CREATE, object_type="referral").count() == 1
    assert not IdempotencyRecord.objects.filter(status_code__isnull=True).exists()
