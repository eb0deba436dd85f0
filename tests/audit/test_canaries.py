"""Canary PII written through the API never reaches the audit tables, django-auditlog,
the logs (every logger at DEBUG, SQL included), stdout/stderr or the exports."""

import logging
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from tests.audit.world import SURVIVOR_CANARIES
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CANARIES = {
    **SURVIVOR_CANARIES,
    "patched_phone": "canary-patched-phone-9X",
    "narrative": "canary-narrative-9X",
    "liaison_note": "canary-liaison-note-9X",
    "caseworker_note": "canary-caseworker-note-9X",
    "hold_reason": "canary-hold-reason-9X",
    "outcome": "canary-outcome-9X",
    "reject_reason": "canary-reject-reason-9X",
    "cancel_reason": "canary-cancel-reason-9X",
    "revoke_reason": "canary-revoke-reason-9X",
    "bad_date": "canary-bad-date-9X",
    "password": "canary-password-9X",
    "justification": "canary-justification-9X: in danger tonight",
    "short_justification": "canary-short-9X",
    "review_note": "canary-review-note-9X",
}
AUDIT_TABLES = ("audit", "auditlog")


@pytest.fixture
def every_log(caplog):
    """Every logger at DEBUG into caplog (non-propagating ones too), SQL included."""
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.propagate = True
    connection.force_debug_cursor = True
    try:
        with caplog.at_level(logging.DEBUG):
            yield caplog
    finally:
        connection.force_debug_cursor = False
        for lg, level, propagate in saved:
            lg.setLevel(level)
            lg.propagate = propagate


def _consent(survivor, agency, categories):
    return {
        "survivor": survivor,
        "recipients": [agency],
        "categories": categories,
        "method": "written",
        "evidence_sha256": "c" * 64,
        "language": "en",
        "interpreter_used": False,
        "notice_version": "2026-01",
        "services_not_conditional": True,
        "signed_by": "survivor",
        "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
    }


def _write_everything(members, agencies):
    liaison, worker = client_for(members["liaison"]), client_for(members["caseworker"])
    legal = client_for(members["legal_caseworker"])
    client_for().post(
        "/api/v1/auth/token/",
        {"username": members["liaison"].user.username, "password": CANARIES["password"]},
        format="json",
    )
    created = liaison.post("/api/v1/survivors/", SURVIVOR_CANARIES, format="json")
    assert created.status_code == 201, created.json().get("code")
    survivor = created.json()["id"]
    liaison.patch(
        f"/api/v1/survivors/{survivor}/", {"date_of_birth": CANARIES["bad_date"]}, format="json"
    )
    liaison.patch(
        f"/api/v1/survivors/{survivor}/", {"phone": CANARIES["patched_phone"]}, format="json"
    )
    everything = ["identity", "contact", "location", "immigration", "narrative"]
    backs = ["status_updates", "case_notes"]
    consent = liaison.post(
        "/api/v1/consents/",
        _consent(survivor, agencies["shelter"].pk, everything + backs),
        format="json",
    ).json()["id"]
    liaison.post(
        "/api/v1/consents/", _consent(survivor, agencies["legal"].pk, everything), format="json"
    )
    referral = liaison.post(
        "/api/v1/referrals/",
        {
            "survivor": survivor,
            "recipients": [agencies["shelter"].pk, agencies["legal"].pk],
            "needs": ["shelter"],
            "urgency": "high",
            "narrative": CANARIES["narrative"],
        },
        format="json",
    ).json()["id"]
    base = f"/api/v1/referrals/{referral}"
    worker.get(f"{base}/")
    worker.get("/api/v1/referrals/")
    legal.post(f"{base}/transitions/", {"action": "reject", "reason": CANARIES["reject_reason"]})
    for body in (
        {"action": "accept"},
        {"action": "start"},
        {"action": "hold", "reason": CANARIES["hold_reason"]},
        {"action": "start"},
        {"action": "complete", "outcome": CANARIES["outcome"]},
    ):
        assert worker.post(f"{base}/transitions/", body, format="json").status_code == 200
    worker.post(f"{base}/notes/", {"text": CANARIES["caseworker_note"]}, format="json")
    liaison.post(f"{base}/notes/", {"text": CANARIES["liaison_note"]}, format="json")
    liaison.get(f"{base}/notes/")
    worker.get(f"{base}/notes/")
    second = liaison.post(
        "/api/v1/referrals/",
        {"survivor": survivor, "recipients": [agencies["shelter"].pk], "needs": ["legal"]}
        | {"urgency": "routine"},
        format="json",
    ).json()["id"]
    liaison.post(
        f"/api/v1/referrals/{second}/transitions/",
        {"action": "cancel", "reason": CANARIES["cancel_reason"]},
        format="json",
    )
    _break_glass(worker, base, members)
    liaison.get(f"/api/v1/survivors/{survivor}/disclosures/")
    revoked = liaison.post(
        f"/api/v1/consents/{consent}/revoke/",
        {"reason": CANARIES["revoke_reason"], "channel": "oral", "no_emergency_access": True},
        format="json",
    )
    assert revoked.status_code == 200
    worker.get(f"{base}/")  # now hidden: a denial
    return survivor


def _break_glass(worker, base, members):
    """Emergency access (refused once for a short justification), read under it, and
    reviewed with a note."""
    body = {"reason_code": "medical_emergency", "categories": ["medical", "location"]}
    short = {**body, "justification": CANARIES["short_justification"]}
    assert worker.post(f"{base}/emergency-access/", short, format="json").status_code == 400
    opened = worker.post(
        f"{base}/emergency-access/",
        {**body, "justification": CANARIES["justification"]},
        format="json",
    )
    assert opened.status_code == 201
    worker.get(f"{base}/")
    compliance = client_for(members["compliance"])
    compliance.get("/api/v1/emergency-access/")
    reviewed = compliance.post(
        f"/api/v1/emergency-access/{opened.json()['id']}/review/",
        {"decision": "justified", "note": CANARIES["review_note"]},
        format="json",
    )
    assert reviewed.status_code == 200


def _audit_rows() -> str:
    dumped = []
    with connection.cursor() as cursor:
        for label in AUDIT_TABLES:
            for model in apps.get_app_config(label).get_models():
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
                dumped.append(repr(cursor.fetchall()))
    return "\n".join(dumped)


def _leaks(text: str) -> list[str]:
    return sorted(name for name, value in CANARIES.items() if value in text)


def test_canaries_reach_no_audit_table_log_output_or_export(members, agencies, every_log, capfd):
    from auditlog.models import LogEntry

    from consent.models import Survivor
    from coordination.models import Event

    ref = Survivor.objects.get(pk=_write_everything(members, agencies)).ref
    compliance = client_for(members["compliance"])
    exports = [
        b"".join(compliance.get(f"/api/v1/audit/entries/?format={kind}").streaming_content)
        for kind in ("csv", "json")
    ]
    ledger = compliance.get(f"/api/v1/audit/ledger/?survivor_ref={ref}")
    assert len(ledger.json()["results"]) >= 3
    ledger = ledger.content
    captured = capfd.readouterr()
    assert LogEntry.objects.count() > 10  # the field diffs were written
    assert "INSERT INTO" in every_log.text  # SQL was logged too
    assert _leaks(_audit_rows()) == []
    assert _leaks(repr(list(Event.objects.values()))) == []  # the outbox too
    assert _leaks(every_log.text) == []
    assert _leaks(repr([(r.msg, r.args) for r in every_log.records])) == []
    assert _leaks(captured.out + captured.err) == []
    assert _leaks(b"\n".join([*exports, ledger]).decode()) == []
