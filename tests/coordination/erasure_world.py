"""A survivor with PII in every place PII can be tied to them, written through the API
(idempotent POSTs included), for the erasure tests. Every value is a unique canary."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.audit.world import SURVIVOR_CANARIES
from tests.conftest import client_for

CANARIES = {
    **SURVIVOR_CANARIES,
    "narrative": "canary-erase-narrative-4W",
    "closed_narrative": "canary-erase-closed-narrative-4W",
    "caseworker_note": "canary-erase-caseworker-note-4W",
    "liaison_note": "canary-erase-liaison-note-4W",
    "hold_reason": "canary-erase-hold-reason-4W",
    "outcome": "canary-erase-outcome-4W",
    "revoke_reason": "canary-erase-revoke-reason-4W",
}


def consent_body(survivor: str, agency: int, categories: list[str]) -> dict:
    return {
        "survivor": survivor,
        "recipients": [agency],
        "categories": categories,
        "method": "written",
        "evidence_sha256": "d" * 64,
        "language": "en",
        "interpreter_used": False,
        "notice_version": "2026-01",
        "services_not_conditional": True,
        "signed_by": "survivor",
        "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
    }


def _ok(response, expected: int = 200):
    assert response.status_code == expected, response.json().get("code")
    return response.json()


def build(members, agencies) -> dict:
    """The police's survivor: a closed referral (shelter completed it, with a hold
    reason, an outcome and notes both ways) and an open one (shelter accepted it,
    legal still awaits consent); an active consent for the shelter, a revoked one for
    legal (with a reason). Creations go through ``Idempotency-Key`` (stored responses)."""
    liaison, worker = client_for(members["liaison"]), client_for(members["caseworker"])
    everything = ["identity", "contact", "location", "immigration", "narrative"]
    survivor = _ok(
        liaison.post(
            "/api/v1/survivors/", SURVIVOR_CANARIES, format="json", HTTP_IDEMPOTENCY_KEY="s-1"
        ),
        201,
    )["id"]
    shelter = agencies["shelter"].pk
    _ok(
        liaison.post(
            "/api/v1/consents/",
            consent_body(survivor, shelter, [*everything, "status_updates", "case_notes"]),
            format="json",
            HTTP_IDEMPOTENCY_KEY="c-1",
        ),
        201,
    )
    legal_consent = _ok(
        liaison.post(
            "/api/v1/consents/",
            consent_body(survivor, agencies["legal"].pk, everything),
            format="json",
        ),
        201,
    )["id"]

    def refer(narrative: str, key: str) -> str:
        body = {
            "survivor": survivor,
            "recipients": [shelter, agencies["legal"].pk],
            "needs": ["shelter"],
            "urgency": "high",
            "narrative": narrative,
        }
        return _ok(
            liaison.post("/api/v1/referrals/", body, format="json", HTTP_IDEMPOTENCY_KEY=key), 201
        )["id"]

    closed = refer(CANARIES["closed_narrative"], "r-1")
    for body in (
        {"action": "accept"},
        {"action": "start"},
        {"action": "hold", "reason": CANARIES["hold_reason"]},
        {"action": "start"},
        {"action": "complete", "outcome": CANARIES["outcome"]},
    ):
        _ok(worker.post(f"/api/v1/referrals/{closed}/transitions/", body, format="json"))
    _ok(
        worker.post(
            f"/api/v1/referrals/{closed}/notes/",
            {"text": CANARIES["caseworker_note"]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="n-1",
        ),
        201,
    )
    _ok(
        liaison.post(
            f"/api/v1/referrals/{closed}/notes/", {"text": CANARIES["liaison_note"]}, format="json"
        ),
        201,
    )
    _ok(
        liaison.post(
            f"/api/v1/consents/{legal_consent}/revoke/",
            {"reason": CANARIES["revoke_reason"], "channel": "oral"},
            format="json",
        )
    )
    open_referral = refer(CANARIES["narrative"], "r-2")
    _ok(
        worker.post(
            f"/api/v1/referrals/{open_referral}/transitions/", {"action": "accept"}, format="json"
        )
    )
    return {"survivor": survivor, "closed": closed, "open": open_referral}


def erase(member, survivor: str, reason: str = "survivor_request"):
    return client_for(member).post(
        f"/api/v1/survivors/{survivor}/erasure/", {"reason": reason}, format="json"
    )
