"""From an empty database to a member of a new agency reading a consented referral,
through bootstrap_network, emailed invitations and the API only; every step on the
record."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from agencies.models import Agency, Membership, Role
from audit.models import AuditEntry
from consent import services as consent_services
from coordination import services
from tests.coordination.live_helpers import consent_fields
from tests.factories import AgencyFactory, MemberFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-password-7"


def _token(text: str) -> str:
    return re.search(r"/invitations/([A-Za-z0-9_-]+)/", text).group(1)


def _signed_in(username: str) -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


def _accept(token: str) -> str:
    response = APIClient().post(
        "/api/v1/invitations/accept/", {"token": token, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["username"]


def _last_entry(**match) -> AuditEntry:
    entry = AuditEntry.objects.filter(**match).order_by("-pk").first()
    assert entry is not None, match
    return entry


def test_bootstrap_to_a_new_member_reading_a_consented_referral():
    assert not Membership.objects.exists()
    out = StringIO()
    call_command(
        "bootstrap_network",
        agency_slug="coordination",
        agency_name="Network Coordination Office",
        username="first.admin",
        email="first.admin@example.org",
        stdout=out,
    )
    coordination = Agency.objects.get(slug="coordination")
    assert coordination.kind == "government"
    admin = Membership.objects.get(user__username="first.admin")
    assert admin.role == Role.NETWORK_ADMIN
    assert not admin.user.has_usable_password()
    assert _last_entry(action="create", object_type="agency").detail["via"] == "bootstrap_network"
    assert _last_entry(action="member_add", object_id=str(admin.pk)).detail["role"] == (
        "network_admin"
    )
    assert _last_entry(action="create", object_type="invitation").actor_user_id is None

    # No password yet: no way in until the link is used, once.
    assert APIClient().post(
        "/api/v1/auth/token/", {"username": "first.admin", "password": ""}, format="json"
    ).status_code in (400, 401)
    assert _accept(_token(out.getvalue())) == "first.admin"
    assert _last_entry(action="update", object_type="password").actor_role == "network_admin"
    network_admin = _signed_in("first.admin")

    # The network admin adds an agency and invites its first admin (by email only).
    created = network_admin.post(
        "/api/v1/agencies/",
        {
            "name": "Harbor Clinic",
            "slug": "harbor-clinic",
            "kind": "healthcare",
            "services": ["medical"],
            "regions": ["metro"],
            "languages": ["en", "es"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    clinic_id = created.json()["id"]
    assert _last_entry(action="create", object_type="agency").object_id == str(clinic_id)
    invited = network_admin.post(
        "/api/v1/invitations/",
        {
            "agency": clinic_id,
            "role": "agency_admin",
            "username": "clinic.admin",
            "email": "clinic.admin@example.org",
        },
        format="json",
    )
    assert invited.status_code == 201
    assert set(invited.json()) == {"id", "expires_at"}
    assert "token" not in invited.content.decode()
    assert _last_entry(action="create", object_type="invitation").actor_username == "first.admin"
    assert mail.outbox[-1].to == ["clinic.admin@example.org"]
    _accept(_token(mail.outbox[-1].body))
    assert _last_entry(action="member_add").actor_username == "clinic.admin"

    # The agency admin invites a caseworker into their own agency.
    clinic_admin = _signed_in("clinic.admin")
    response = clinic_admin.post(
        "/api/v1/invitations/",
        {
            "agency": clinic_id,
            "role": "caseworker",
            "username": "clinic.worker",
            "email": "clinic.worker@example.org",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    _accept(_token(mail.outbox[-1].body))
    worker_entry = _last_entry(action="member_add")
    assert (worker_entry.actor_username, worker_entry.actor_role) == ("clinic.worker", "caseworker")

    # A liaison elsewhere refers a survivor to the clinic under consent; the new
    # caseworker reads it.
    clinic = Agency.objects.get(pk=clinic_id)
    liaison = MemberFactory(
        agency=AgencyFactory(slug="police", kind="law_enforcement"), role=Role.LIAISON
    )
    survivor = consent_services.survivor_create(actor=liaison, data={"given_name": "canary-g"})
    services.consent_record(
        actor=liaison, survivor_id=survivor.pk, **consent_fields({"clinic": clinic}, "clinic")
    )
    referral = services.referral_create(
        actor=liaison,
        survivor_id=survivor.pk,
        recipients=[clinic_id],
        needs=["medical"],
        urgency="high",
        narrative="canary-narrative",
    )
    worker = _signed_in("clinic.worker")
    read = worker.get(f"/api/v1/referrals/{referral.pk}/")
    assert read.status_code == 200
    assert read.json()["survivor"]["given_name"] == "canary-g"
    view = _last_entry(action="view", object_type="referral")
    assert (view.actor_username, view.survivor_ref) == ("clinic.worker", survivor.ref)
    for message in mail.outbox:  # no survivor data in any email
        assert "canary" not in message.body
        assert "canary" not in message.subject


def test_bootstrap_refuses_to_run_twice_for_one_username():
    arguments = {
        "agency_slug": "coord",
        "agency_name": "Coord",
        "username": "boss",
        "email": "boss@example.org",
        "stdout": StringIO(),
    }
    call_command("bootstrap_network", **arguments)
    before = AuditEntry.objects.count()
    with pytest.raises(CommandError, match="exists"):
        call_command("bootstrap_network", **arguments)
    assert Membership.objects.filter(user__username="boss").count() == 1
    assert AuditEntry.objects.count() == before


def test_bootstrap_refuses_a_non_government_agency():
    AgencyFactory(slug="police", kind="law_enforcement")
    with pytest.raises(CommandError, match="government"):
        call_command(
            "bootstrap_network",
            agency_slug="police",
            agency_name="P",
            username="boss",
            email="boss@example.org",
            stdout=StringIO(),
        )
    assert not Membership.objects.exists()
