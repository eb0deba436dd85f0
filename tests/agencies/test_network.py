"""Network admins create, edit, suspend and reinstate agencies; the directory filters;
a suspended or closed agency is no recipient."""

from __future__ import annotations

import pytest
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from audit.models import AuditEntry
from tests.conftest import client_for
from tests.factories import PASSWORD, AgencyFactory

pytestmark = pytest.mark.django_db


def _suspend(members, agencies, name="shelter"):
    return client_for(members["network_admin"]).post(
        f"/api/v1/agencies/{agencies[name].pk}/suspend/"
    )


@pytest.mark.parametrize("member", ["admin", "caseworker", "liaison", "compliance"])
def test_only_network_admins_create_and_suspend_agencies(members, agencies, member):
    client = client_for(members[member])
    created = client.post(
        "/api/v1/agencies/", {"name": "X", "slug": "x", "kind": "ngo"}, format="json"
    )
    assert created.status_code == 403
    assert client.post(f"/api/v1/agencies/{agencies['legal'].pk}/suspend/").status_code == 403


def test_a_suspended_agencys_members_cannot_sign_in_anywhere(members, agencies):
    worker = members["caseworker"]
    old_token = AuthToken.objects.create(worker.user)[1]
    browser = Client()
    assert (
        browser.post(
            "/accounts/login/", {"username": worker.user.username, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert _suspend(members, agencies).status_code == 200
    entry = AuditEntry.objects.filter(action="update", object_type="agency").latest("pk")
    assert entry.detail["change"] == "suspend"
    assert not AuthToken.objects.filter(user=worker.user).exists()
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {old_token}")
    assert bearer.get("/api/v1/me/").status_code == 401
    assert browser.get("/inbox/").status_code == 302  # the session ended: sign in again
    fresh = APIClient().post(
        "/api/v1/auth/token/",
        {"username": worker.user.username, "password": PASSWORD},
        format="json",
    )
    assert fresh.status_code == 401
    assert (
        Client()
        .post("/accounts/login/", {"username": worker.user.username, "password": PASSWORD})
        .status_code
        == 401
    )
    # Reinstated: they sign in again.
    reinstate = client_for(members["network_admin"]).post(
        f"/api/v1/agencies/{agencies['shelter'].pk}/reinstate/"
    )
    assert reinstate.status_code == 200
    assert (
        APIClient()
        .post(
            "/api/v1/auth/token/",
            {"username": worker.user.username, "password": PASSWORD},
            format="json",
        )
        .status_code
        == 200
    )


def test_a_network_admin_cannot_suspend_their_own_agency(members, agencies):
    assert _suspend(members, agencies, "oversight").status_code == 409


def test_a_suspended_or_closed_agency_is_refused_as_recipient_by_name(members, agencies):
    from consent import services as consent_services

    survivor = consent_services.survivor_create(
        actor=members["liaison"], data={"given_name": "canary-given"}
    )
    _suspend(members, agencies, "legal")
    closed = agencies["shelter"]
    closed.accepting_referrals = False
    closed.save()
    for agency, words in ((agencies["legal"], "suspended"), (closed, "not accepting referrals")):
        response = client_for(members["liaison"]).post(
            "/api/v1/referrals/",
            {
                "survivor": str(survivor.pk),
                "recipients": [agency.pk],
                "needs": ["legal"],
                "urgency": "high",
            },
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["fields"]["recipients"] == [f"{agency.name} is {words}."]


def test_the_directory_filters_by_need_region_and_language(members):
    AgencyFactory(slug="north-legal", services=["legal"], regions=["north"], languages=["es"])
    AgencyFactory(slug="south-legal", services=["legal"], regions=["south"], languages=["en"])
    AgencyFactory(slug="north-med", services=["medical"], regions=["north"], languages=["es"])
    client = client_for(members["liaison"])

    def slugs(query):
        return {a["slug"] for a in client.get(f"/api/v1/agencies/?{query}").json()["results"]}

    assert slugs("need=legal&region=north") == {"north-legal"}
    assert slugs("language=es") == {"north-legal", "north-med"}
    assert slugs("region=nor") == set()  # whole values only
    assert client.get("/api/v1/agencies/?need=flying").status_code == 400


def test_only_network_admins_see_suspended_agencies(members, agencies):
    _suspend(members, agencies, "legal")

    def slugs(member):
        return {
            a["slug"]
            for a in client_for(members[member]).get("/api/v1/agencies/").json()["results"]
        }

    assert "legal" not in slugs("liaison")
    assert "legal" in slugs("network_admin")


def test_an_agency_admin_edits_only_their_own_profile(members, agencies):
    client = client_for(members["admin"])
    own = client.patch(
        f"/api/v1/agencies/{agencies['shelter'].pk}/",
        {"languages": ["en", "es"], "accepting_referrals": False, "capacity_note": "full"},
        format="json",
    )
    assert own.status_code == 200
    assert own.json()["languages"] == ["en", "es"]
    assert (
        client.patch(
            f"/api/v1/agencies/{agencies['shelter'].pk}/", {"name": "Renamed"}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.patch(
            f"/api/v1/agencies/{agencies['legal'].pk}/", {"capacity_note": "x"}, format="json"
        ).status_code
        == 404
    )


def test_the_new_referral_page_filters_recipients(members):
    AgencyFactory(slug="es-legal", name="Spanish Legal", services=["legal"], languages=["es"])
    AgencyFactory(slug="en-legal", name="English Legal", services=["legal"], languages=["en"])
    browser = Client()
    browser.force_login(members["liaison"].user)
    page = browser.get("/referrals/new/?need=legal&language=es").content.decode()
    assert "Spanish Legal" in page
    assert "English Legal" not in page
