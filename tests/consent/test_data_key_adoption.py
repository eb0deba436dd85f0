"""Moving to per-survivor data keys without downtime: a database written before them
(through the historical models, every value under the field key alone) migrates,
reads in both formats meanwhile, and ``manage.py adopt_data_keys`` moves every value
tied to a survivor under their own key in batches — after which erasure shreds them.
Runs on SQLite in the embedded pass and on PostgreSQL in the production pass."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from consent import data_keys
from tests.consent.test_survivor_migration import PII, _leaves, _migrate

BEFORE_DATA_KEYS = {
    "consent": "0004_survivor_table",
    "coordination": "0006_agency_streams_backfill",
}
TEXTS = {
    "narrative": "canary-adopt-narrative",
    "reason": "canary-adopt-hold-reason",
    "note": "canary-adopt-note",
    "revocation": "canary-adopt-revocation",
    "response": '{"given_name": "canary-adopt-response"}',
}


def _before_data_keys():
    return [(app, BEFORE_DATA_KEYS.get(app, name)) for app, name in _leaves()]


def _old_rows(apps) -> dict:
    user = apps.get_model("auth", "User").objects.create(username=f"u-{uuid.uuid4().hex[:8]}")
    agency = apps.get_model("agencies", "Agency")
    police = agency.objects.create(name="Police", slug="police-a", kind="law_enforcement")
    shelter = agency.objects.create(name="Shelter", slug="shelter-a", kind="shelter")
    survivor = apps.get_model("consent", "Survivor").objects.create(
        owner_agency=police, created_by=user, **PII
    )
    referral = apps.get_model("coordination", "Referral").objects.create(
        survivor=survivor,
        referring_agency=police,
        urgency="high",
        narrative=TEXTS["narrative"],
        created_by=user,
    )
    status = apps.get_model("coordination", "RecipientStatus").objects.create(
        referral=referral, agency=shelter, status="on_hold"
    )
    apps.get_model("coordination", "StatusChange").objects.create(
        recipient_status=status,
        from_status="in_progress",
        to_status="on_hold",
        action="hold",
        reason=TEXTS["reason"],
    )
    apps.get_model("coordination", "CaseNote").objects.create(
        referral=referral, author=user, author_agency=shelter, text=TEXTS["note"]
    )
    now = timezone.now()
    consent = apps.get_model("consent", "Consent").objects.create(
        survivor=survivor,
        owner_agency=police,
        categories=["identity"],
        purpose="service_referral",
        method="written",
        evidence_sha256="a" * 64,
        language="en",
        interpreter_used=False,
        notice_version="v1",
        services_not_conditional=True,
        signed_by="survivor",
        valid_from=now,
        expires_at=now + timedelta(days=30),
        recorded_by=user,
    )
    apps.get_model("consent", "ConsentRevocation").objects.create(
        consent=consent, revoked_by=user, channel="oral", reason=TEXTS["revocation"]
    )
    apps.get_model("coordination", "IdempotencyRecord").objects.create(
        user=user, key="k", request_hash="h", status_code=201, response_body=TEXTS["response"]
    )
    return {"survivor": survivor.pk, "referral": referral.pk}


def _stored(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 (test constants)
        return [value for (value,) in cursor.fetchall() if value]


SURVIVOR_COLUMNS = [("consent_survivor", name) for name in PII] + [
    ("coordination_referral", "narrative"),
    ("coordination_statuschange", "reason"),
    ("coordination_casenote", "text"),
    ("consent_consentrevocation", "reason"),
]


def _read_everything(survivor_id) -> dict:
    from consent.models import ConsentRevocation, Survivor
    from coordination.models import CaseNote, IdempotencyRecord, Referral, StatusChange

    survivor = Survivor.objects.get(pk=survivor_id)
    return {
        **{name: getattr(survivor, name) for name in PII},
        "narrative": Referral.objects.get(survivor=survivor).narrative,
        "reason": StatusChange.objects.get().reason,
        "note": CaseNote.objects.get().text,
        "revocation": ConsentRevocation.objects.get().reason,
        "response": IdempotencyRecord.objects.get().response_body,
    }


@pytest.mark.django_db(transaction=True)
def test_old_rows_read_as_they_are_then_move_under_their_survivors_key():
    leaves = _leaves()
    written = _old_rows(_migrate(_before_data_keys()))
    _migrate(leaves)
    expected = {**PII, **TEXTS}
    assert _read_everything(written["survivor"]) == expected  # both formats read meanwhile
    assert not any(v.startswith("dk1:") for t, c in SURVIVOR_COLUMNS for v in _stored(t, c))

    out = StringIO()
    call_command("adopt_data_keys", "--batch-size", "2", "--no-progress", stdout=out)
    assert out.getvalue() == "5 row(s) moved under their survivor's data key.\n"

    owner = f"dk1:{uuid.UUID(str(written['survivor'])).hex}:"
    for table, column in SURVIVOR_COLUMNS:
        assert all(v.startswith(owner) for v in _stored(table, column)), (table, column)
    assert _read_everything(written["survivor"]) == expected
    # A stored response with no survivor named stays under the field key.
    assert not _stored("coordination_idempotencyrecord", "response_body")[0].startswith("dk1:")
    again = StringIO()
    call_command("adopt_data_keys", "--no-progress", stdout=again)
    assert again.getvalue().startswith("0 row(s)")

    from coordination.services import survivor_erase

    dumped = [(t, c, v) for t, c in SURVIVOR_COLUMNS for v in _stored(t, c)]
    survivor_erase(actor=None, survivor_id=written["survivor"], reason="retention_period")
    assert {data_keys.open_token(v) for _, _, v in dumped} == {""}


@pytest.mark.django_db(transaction=True)
def test_a_value_rewritten_by_a_request_meanwhile_is_kept():
    """``adopt`` writes only over the very token it read (compare and set)."""
    leaves = _leaves()
    written = _old_rows(_migrate(_before_data_keys()))
    _migrate(leaves)
    from coordination.models import Referral

    referral = Referral.objects.get(pk=written["referral"])
    batches = data_keys.adopt(batch_size=1)
    next(batches)  # the first batch (a survivor's profile) is moved
    referral.narrative = "canary-adopt-rewritten"
    referral.save(update_fields=["narrative"])
    list(batches)
    assert Referral.objects.get(pk=referral.pk).narrative == "canary-adopt-rewritten"
