"""Migration 0012: the outbox rows' ``seq`` becomes the table's own auto-increment and
the network counter goes. A database with events numbered by the counter goes on
numbering after them, and its streams after their heads. Runs on SQLite in the
embedded pass and on PostgreSQL (an identity column set past the counter) in the
production pass."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from coordination import outbox
from coordination.models import Event
from tests.coordination.test_accepted_at_migration import _migrate, back_to_the_newest

BEFORE = ("coordination", "0011_status_change_at_from_the_move")
AFTER = ("coordination", "0012_event_seq_from_the_database")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures(back_to_the_newest.__name__),
]


def test_events_numbered_by_the_counter_are_followed_by_the_databases_numbers():
    apps = _migrate(BEFORE)
    user = apps.get_model("auth", "User").objects.create(username="migration-user")
    agency = apps.get_model("agencies", "Agency")
    police = agency.objects.create(name="Police", slug="police-m", kind="law_enforcement")
    survivor = apps.get_model("consent", "Survivor").objects.create(
        owner_agency=police, created_by=user
    )
    referral = apps.get_model("coordination", "Referral").objects.create(
        survivor=survivor, referring_agency=police, urgency="high", created_by=user
    )
    event_model = apps.get_model("coordination", "Event")
    for seq in (1, 2, 3):  # as the counter numbered them, in the events' transactions
        event_model.objects.create(
            seq=seq,
            kind="note.added",
            referral=referral,
            survivor_ref="S-MIGRATE",
            at=timezone.now(),
        )
        apps.get_model("coordination", "StreamEntry").objects.create(
            agency=police, seq=seq, event_id=seq
        )
    apps.get_model("coordination", "EventCounter").objects.create(pk=1, seq=3)
    apps.get_model("coordination", "StreamCounter").objects.create(agency=police, seq=3)

    _migrate(AFTER)
    assert "coordination_eventcounter" not in connection.introspection.table_names()
    # The outbox writes the event and its stream entries (one statement on PostgreSQL).
    new = Event(
        kind="note.added", referral_id=referral.pk, survivor_ref="S-MIGRATE", at=timezone.now()
    )
    assert outbox.stream_head(police.pk) == 3
    assert outbox._append(new, [police.pk]) == {police.pk: 4}
    assert new.seq == 4
    assert Event.objects.get(seq=4).survivor_ref == "S-MIGRATE"
