"""The survivor moved from ``coordination`` to ``consent``: a database built at the
migrations before the move, with real rows (encrypted fields included), migrates
across with nothing lost and every row readable through today's models. Runs on
SQLite in the embedded pass and on PostgreSQL in the production pass."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

THE_MOVE_STARTS_AFTER = {"consent": "0002_initial", "coordination": "0003_idempotency"}

PII = {
    "given_name": "canary-given-Ñandú",
    "family_name": "canary-family",
    "date_of_birth": "1990-02-03",
    "phone": "canary-phone",
    "email": "canary@example.org",
    "safe_contact_instructions": "canary: text only, never a voicemail",
    "address": "canary-address",
    "nationality": "canary-nationality",
    "immigration_status": "canary-status",
}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _before_the_move():
    """Every app at its newest migration, but consent and coordination before the move."""
    return [(app, THE_MOVE_STARTS_AFTER.get(app, name)) for app, name in _leaves()]


def _rows_before_the_move(apps) -> dict:
    """Rows written through the historical models, as an old deployment wrote them."""
    user = apps.get_model("auth", "User").objects.create(username=f"u-{uuid.uuid4().hex[:8]}")
    agency_model = apps.get_model("agencies", "Agency")
    police = agency_model.objects.create(name="Police", slug="police-m", kind="law_enforcement")
    shelter = agency_model.objects.create(name="Shelter", slug="shelter-m", kind="shelter")
    survivor = apps.get_model("coordination", "Survivor").objects.create(
        owner_agency=police, created_by=user, preferred_language="es", **PII
    )
    referral = apps.get_model("coordination", "Referral").objects.create(
        survivor=survivor,
        referring_agency=police,
        needs=["shelter"],
        urgency="high",
        narrative="canary-narrative",
        created_by=user,
    )
    now = timezone.now()
    consent = apps.get_model("consent", "Consent").objects.create(
        survivor=survivor,
        owner_agency=police,
        categories=["identity", "contact"],
        purpose="service_referral",
        method="written",
        evidence_sha256="a" * 64,
        language="es",
        interpreter_used=True,
        notice_version="v1",
        services_not_conditional=True,
        signed_by="survivor",
        valid_from=now,
        expires_at=now + timedelta(days=30),
        recorded_by=user,
    )
    consent.recipients.set([shelter])
    content_type = apps.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="coordination", model="survivor"
    )[0]
    apps.get_model("auditlog", "LogEntry").objects.create(
        content_type=content_type,
        object_pk=str(survivor.pk),
        object_id=None,
        object_repr=survivor.ref,
        action=0,
        changes={"preferred_language": ["", "es"]},
    )
    return {"survivor": survivor.pk, "ref": survivor.ref, "referral": referral.pk}


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_migrates_with_every_row_readable():
    leaves = _leaves()
    written = _rows_before_the_move(_migrate(_before_the_move()))
    _migrate(leaves)

    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from consent.models import Consent, Survivor
    from coordination.models import Referral

    survivor = Survivor.objects.get(pk=written["survivor"])
    assert survivor.ref == written["ref"]
    assert {name: getattr(survivor, name) for name in PII} == PII
    assert survivor.preferred_language == "es"
    referral = Referral.objects.get(pk=written["referral"])
    assert referral.survivor_id == survivor.pk
    assert referral.narrative == "canary-narrative"
    consent = Consent.objects.get(survivor=survivor)
    assert consent.survivor == survivor
    assert [a.slug for a in consent.recipients.all()] == ["shelter-m"]
    # The field-change history follows the model to its new app.
    moved = ContentType.objects.get_for_model(Survivor)
    assert (moved.app_label, moved.model) == ("consent", "survivor")
    assert LogEntry.objects.filter(content_type=moved, object_pk=str(survivor.pk)).count() == 1
    assert not ContentType.objects.filter(app_label="coordination", model="survivor").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT given_name FROM consent_survivor WHERE ref = %s", [survivor.ref])
        (stored,) = cursor.fetchone()
    assert PII["given_name"] not in stored  # still encrypted at rest


@pytest.mark.django_db(transaction=True)
def test_the_move_can_be_rolled_back_and_forward_again():
    leaves = _leaves()
    written = _rows_before_the_move(_migrate(_before_the_move()))
    _migrate(leaves)
    apps = _migrate(_before_the_move())
    old = apps.get_model("coordination", "Survivor").objects.get(pk=written["survivor"])
    assert old.given_name == PII["given_name"]
    _migrate(leaves)

    from consent.models import Survivor

    assert Survivor.objects.get(pk=written["survivor"]).phone == PII["phone"]
