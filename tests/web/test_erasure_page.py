"""The liaison erases a survivor's data from the profile page: a reason and an explicit
confirmation, or nothing happens; afterwards the profile is gone (410) and the list
shows the reference only."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEntry
from consent import services as consent_services
from consent.models import Survivor

pytestmark = pytest.mark.django_db


@pytest.fixture
def liaison_page(members):
    client = Client()
    client.force_login(members["liaison"].user)
    return client


@pytest.fixture
def survivor(members):
    return consent_services.survivor_create(
        actor=members["liaison"], data={"given_name": "canary-erasure-page-3K"}
    )


def test_the_profile_offers_erasure_with_reason_and_confirmation(liaison_page, survivor):
    page = liaison_page.get(f"/survivors/{survivor.pk}/").content.decode()
    assert f'action="/survivors/{survivor.pk}/erasure/"' in page
    assert 'name="reason"' in page
    assert 'name="confirm"' in page


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "survivor_request"},  # not confirmed
        {"confirm": "on"},  # no reason
        {"reason": "because", "confirm": "on"},  # not a reason code
        {"reason": "retention_period", "confirm": "on"},  # the system's, not a member's
    ],
)
def test_without_a_reason_and_a_confirmation_nothing_is_erased(liaison_page, survivor, body):
    before = AuditEntry.objects.count()
    response = liaison_page.post(f"/survivors/{survivor.pk}/erasure/", body)
    assert response.status_code == 302
    assert response["Location"] == f"/survivors/{survivor.pk}/"
    survivor.refresh_from_db()
    assert survivor.erased_at is None
    assert AuditEntry.objects.count() == before


def test_erasure_from_the_page_is_for_good(liaison_page, survivor):
    response = liaison_page.post(
        f"/survivors/{survivor.pk}/erasure/", {"reason": "survivor_request", "confirm": "on"}
    )
    assert (response.status_code, response["Location"]) == (302, "/survivors/")
    survivor = Survivor.objects.get(pk=survivor.pk)
    assert survivor.erased_at is not None
    assert survivor.given_name == ""
    assert liaison_page.get(f"/survivors/{survivor.pk}/").status_code == 410
    listing = liaison_page.get("/survivors/").content.decode()
    assert survivor.ref in listing
    assert "canary-erasure-page-3K" not in listing
    entry = AuditEntry.objects.filter(action="erasure").get()
    assert (entry.survivor_ref, entry.detail.get("reason")) == (survivor.ref, "survivor_request")


def test_another_agencys_liaison_cannot_erase(agencies, members, survivor):
    from tests.factories import MemberFactory

    outsider = MemberFactory(agency=agencies["legal"], role="liaison")
    client = Client()
    client.force_login(outsider.user)
    response = client.post(
        f"/survivors/{survivor.pk}/erasure/", {"reason": "survivor_request", "confirm": "on"}
    )
    assert response.status_code == 404
    survivor.refresh_from_db()
    assert survivor.erased_at is None
