"""No input answers 500: oversized numbers, bodies and nesting, naive datetimes and
agencies that cannot be chosen are refused with a 4xx naming what was wrong, and
nothing is written."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from consent import services as consent_services
from consent.models import Consent
from coordination.models import Referral
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

HUGE_IDS = [2**63, 2**63 + 1, 2**64, 10**30, 2**31, -1, 0, -(2**63) - 1]


@pytest.fixture
def survivor(members):
    return consent_services.survivor_create(
        actor=members["liaison"], data={"given_name": "canary-limits"}
    )


def consent_body(survivor, agencies, **overrides):
    body = {
        "survivor": str(survivor.id),
        "recipients": [agencies["shelter"].id],
        "categories": ["identity"],
        "method": "written",
        "evidence_sha256": "0f" * 32,
        "language": "es",
        "interpreter_used": False,
        "notice_version": "2026-01",
        "services_not_conditional": True,
        "signed_by": "survivor",
        "expires_at": (timezone.now() + timedelta(days=30)).isoformat(),
    }
    body.update(overrides)
    return body


def referral_body(survivor, agencies, **overrides):
    body = {
        "survivor": str(survivor.id),
        "recipients": [agencies["shelter"].id],
        "needs": ["shelter"],
        "urgency": "routine",
    }
    body.update(overrides)
    return body


def written():
    return Consent.objects.count(), Referral.objects.count()


@pytest.mark.parametrize("number", HUGE_IDS)
@pytest.mark.parametrize("path", ["/api/v1/consents/", "/api/v1/referrals/"])
def test_a_recipient_id_out_of_range_is_a_400_naming_recipients(
    path, number, members, agencies, survivor
):
    build = consent_body if "consents" in path else referral_body
    before = written()
    response = client_for(members["liaison"]).post(
        path, build(survivor, agencies, recipients=[agencies["shelter"].id, number]), format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert "recipients" in response.json()["fields"]
    assert written() == before


def test_the_largest_id_is_an_unknown_agency_not_a_crash(members, agencies, survivor):
    response = client_for(members["liaison"]).post(
        "/api/v1/referrals/",
        referral_body(survivor, agencies, recipients=[2**31 - 1]),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["recipients"] == ["Unknown agency."]


@pytest.mark.parametrize("path", ["/api/v1/consents/", "/api/v1/referrals/", "/api/v1/survivors/"])
def test_a_30_mb_body_is_a_413_request_too_large(path, members, survivor):
    body = b'{"given_name": "' + b"x" * (30 * 1024 * 1024) + b'"}'
    before = written(), AuditEntry.objects.filter(action="create").count()
    response = client_for(members["liaison"]).post(
        path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big-1"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert (written(), AuditEntry.objects.filter(action="create").count()) == before


def test_a_30_mb_body_without_an_idempotency_key_is_a_413(members):
    body = b'{"given_name": "' + b"x" * (30 * 1024 * 1024) + b'"}'
    response = client_for(members["liaison"]).post(
        "/api/v1/survivors/", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_30_mb_form_post_to_a_page_is_a_413(members):
    client = Client()
    client.force_login(members["liaison"].user)
    response = client.post(
        "/survivors/", {"given_name": "x" * (30 * 1024 * 1024)}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_30_mb_form_post_from_a_browser_gets_a_413_page(members):
    client = Client()
    client.force_login(members["liaison"].user)
    response = client.post(
        "/survivors/", {"given_name": "x" * (30 * 1024 * 1024)}, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("depth", [100_000, 1_000, 33])
@pytest.mark.parametrize("path", ["/api/v1/consents/", "/api/v1/referrals/", "/api/v1/survivors/"])
def test_json_nested_too_deep_is_a_400_invalid(path, depth, members, agencies, survivor):
    body = '{"given_name": ' + "[" * depth + "]" * depth + "}"
    before = written()
    response = client_for(members["liaison"]).post(
        path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"deep-{depth}"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert written() == before


def test_nesting_inside_a_string_is_only_text(members):
    response = client_for(members["liaison"]).post(
        "/api/v1/survivors/",
        {"given_name": "[" * 5000 + '\\"{' * 100, "family_name": "x"},
        format="json",
    )
    assert response.status_code == 400  # too long a name, not too deep
    assert list(response.json()["fields"]) == ["given_name"]


def test_malformed_json_is_still_a_parse_error(members):
    response = client_for(members["liaison"]).post(
        "/api/v1/survivors/", '{"given_name": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize("field", ["valid_from", "expires_at"])
def test_a_naive_consent_time_is_refused(field, members, agencies, survivor):
    when = timezone.now().replace(tzinfo=None) + timedelta(days=1 if field == "expires_at" else 0)
    response = client_for(members["liaison"]).post(
        "/api/v1/consents/",
        consent_body(survivor, agencies, **{field: when.isoformat(timespec="seconds")}),
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Consent.objects.exists()


def test_a_consent_time_with_an_offset_is_kept_at_that_instant(members, agencies, survivor):
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    offset = expires.astimezone(timezone.get_fixed_timezone(-300))
    response = client_for(members["liaison"]).post(
        "/api/v1/consents/",
        consent_body(survivor, agencies, expires_at=offset.isoformat()),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Consent.objects.get().expires_at == expires


@pytest.mark.parametrize("path", ["/api/v1/referrals/", "/api/v1/consents/"])
def test_an_agency_not_accepting_referrals_cannot_be_a_referral_recipient(
    path, members, agencies, survivor
):
    agencies["legal"].accepting_referrals = False
    agencies["legal"].save()
    build = consent_body if "consents" in path else referral_body
    response = client_for(members["liaison"]).post(
        path,
        build(survivor, agencies, recipients=[agencies["shelter"].id, agencies["legal"].id]),
        format="json",
    )
    if path == "/api/v1/referrals/":
        assert response.status_code == 400
        assert response.json()["fields"]["recipients"] == [
            f"{agencies['legal'].name} is not accepting referrals."
        ]
        assert not Referral.objects.exists()
    else:
        # Consent is the survivor's choice, not a new referral: it may still name them.
        assert response.status_code == 201, response.json()
