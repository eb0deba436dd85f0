"""``RecipientStatus.accepted_at`` is backfilled from the status history: a database
built before the field, with statuses accepted (once, or accepted and on), declined and
never acted on, migrates with each first acceptance's time and nothing else stamped.
Runs on SQLite in the embedded pass and on PostgreSQL in the production pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = ("coordination", "0006_agency_streams_backfill")
AFTER = ("coordination", "0007_recipient_status_accepted_at")


def _migrate(target):
    """Every app at its newest migration, coordination at ``target``."""
    executor = MigrationExecutor(connection)
    targets = [
        target if app == target[0] else (app, name)
        for app, name in executor.loader.graph.leaf_nodes()
    ]
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_newest():
    """Leave the database at every app's newest migration, as the next test expects."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_newest")
def test_each_first_acceptance_is_stamped_from_the_status_history():
    apps = _migrate(BEFORE)
    user = apps.get_model("auth", "User").objects.create(username="migration-user")
    agency = apps.get_model("agencies", "Agency")
    police = agency.objects.create(name="Police", slug="police-a", kind="law_enforcement")
    shelter = agency.objects.create(name="Shelter", slug="shelter-a", kind="shelter")
    survivor = apps.get_model("consent", "Survivor").objects.create(
        owner_agency=police, created_by=user
    )
    referral_model = apps.get_model("coordination", "Referral")
    status_model = apps.get_model("coordination", "RecipientStatus")
    change_model = apps.get_model("coordination", "StatusChange")
    histories = {
        "accepted_once": ["requested", "accepted"],
        "accepted_and_on": ["requested", "accepted", "in_progress", "on_hold", "in_progress"],
        "declined": ["requested", "rejected"],
        "untouched": [],
    }
    start = timezone.now() - timedelta(days=3)
    made = {}
    for name, steps in histories.items():
        referral = referral_model.objects.create(
            survivor=survivor, referring_agency=police, urgency="high", created_by=user
        )
        status = status_model.objects.create(
            referral=referral, agency=shelter, status=steps[-1] if steps else "awaiting_consent"
        )
        previous = "awaiting_consent"
        for hours, step in enumerate(steps, start=1):
            change = change_model.objects.create(
                recipient_status=status, from_status=previous, to_status=step, action=step
            )
            # ``at`` is auto_now_add: set the history's times afterwards.
            change_model.objects.filter(pk=change.pk).update(at=start + timedelta(hours=hours))
            previous = step
        made[name] = status.pk

    apps = _migrate(AFTER)
    stamped = dict(
        apps.get_model("coordination", "RecipientStatus").objects.values_list("pk", "accepted_at")
    )
    assert stamped[made["accepted_once"]] == start + timedelta(hours=2)
    assert stamped[made["accepted_and_on"]] == start + timedelta(hours=2)
    assert stamped[made["declined"]] is None
    assert stamped[made["untouched"]] is None
