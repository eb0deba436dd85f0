"""Errors, probes, docs, settings profiles and the demo seed."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from agencies.models import Agency, Membership
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/no/such/page/", 404, "not_found"),
        ("get", "/api/v1/nothing-here/", 404, "not_found"),
        ("delete", "/api/v1/agencies/", 405, "method_not_allowed"),
    ],
)
def test_errors_are_json_with_a_stable_code(method, path, status, code, members):
    response = getattr(client_for(members["liaison"]), method)(path)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code
    assert "detail" in response.json()


def test_malformed_json_is_a_400_json_error(members):
    response = client_for(members["admin"]).generic(
        "POST", "/api/v1/members/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_unhandled_errors_are_json_without_a_trace(members, monkeypatch):
    from agencies.api import views

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.MeSerializer, "to_representation", explode)
    client = client_for(members["liaison"])
    client.raise_request_exception = False
    response = client.get("/api/v1/me/")
    assert response.status_code == 500
    assert response.json() == {
        "code": "server_error",
        "detail": "The server could not complete the request.",
    }
    assert b"secret internals" not in response.content


def test_every_response_carries_a_request_id(members):
    response = client_for(members["liaison"]).get("/api/v1/me/")
    assert len(response["X-Request-ID"]) == 32


def test_healthz_and_readyz_answer_without_login(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/agencies/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_seed_demo_is_idempotent_and_matches_the_contract():
    call_command("seed_demo", password="a-demo-password-xyz")
    call_command("seed_demo", password="a-demo-password-xyz")
    assert sorted(Agency.objects.values_list("slug", "kind")) == [
        ("legal-aid-now", "legal_aid"),
        ("metro-police", "law_enforcement"),
        ("oversight", "government"),
        ("safe-harbor", "shelter"),
    ]
    assert sorted(Membership.objects.values_list("user__username", "agency__slug", "role")) == [
        ("compliance", "oversight", "compliance_officer"),
        ("legal.worker", "legal-aid-now", "caseworker"),
        ("liaison", "metro-police", "liaison"),
        ("network.admin", "oversight", "network_admin"),
        ("shelter.admin", "safe-harbor", "agency_admin"),
        ("shelter.worker", "safe-harbor", "caseworker"),
    ]


def test_demo_user_token_lists_the_four_demo_agencies():
    call_command("seed_demo", password="a-demo-password-xyz")
    client = client_for()
    token = client.post(
        "/api/v1/auth/token/",
        {"username": "liaison", "password": "a-demo-password-xyz"},
        format="json",
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    slugs = {row["slug"] for row in client.get("/api/v1/agencies/").json()["results"]}
    assert slugs == {"metro-police", "safe-harbor", "legal-aid-now", "oversight"}


def _production_env(**overrides):
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("SRN_", "DATABASE_", "KEYS_DATABASE_", "REDIS_", "SECRET_", "ALLOWED_", "CSRF_")
        )
    }
    env.update(
        SRN_PROFILE="production",
        DATABASE_URL="postgres://srn:unused@127.0.0.1:1/srn",
        KEYS_DATABASE_URL="postgres://srn:unused@127.0.0.1:1/srn_keys",
        REDIS_URL="redis://127.0.0.1:1/0",
        SECRET_KEY=secrets.token_urlsafe(64),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        AUDIT_SIGNING_KEY="A" * 43 + "=",
        ALLOWED_HOSTS="referrals.example.org",
        CSRF_TRUSTED_ORIGINS="https://referrals.example.org",
    )
    env.update(overrides)
    return env


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_the_production_profile():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 50"),
        ({"SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "SECRET_KEY must be"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"DATABASE_URL": "sqlite:///tmp/x.db"}, "PostgreSQL"),
        ({"KEYS_DATABASE_URL": ""}, "KEYS_DATABASE_URL is required"),
        ({"KEYS_DATABASE_URL": "sqlite:///tmp/keys.db"}, "PostgreSQL"),
        ({"KEYS_DATABASE_URL": "postgres://srn:unused@127.0.0.1:1/srn"}, "another database"),
        ({"REDIS_URL": ""}, "REDIS_URL is required"),
        ({"FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS is required"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must not be true"),
        ({"DJANGO_DEBUG": "yes"}, "must be 'true' or 'false'"),
    ],
)
def test_production_profile_refuses_to_start_unsafe(override, message):
    result = _manage("check", env=_production_env(**override))
    assert result.returncode != 0
    assert message in result.stderr
