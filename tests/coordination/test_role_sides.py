"""Within an agency, liaisons handle its outgoing referrals and caseworkers its incoming
ones (DESIGN.md, Users and roles): a liaison of a recipient agency reads, writes and
hears nothing of an incoming referral, and a caseworker of the referring agency nothing
of an outgoing one — on the API, the event stream and the pages alike."""

from __future__ import annotations

import pytest

from coordination import access, services
from tests.conftest import client_for
from tests.coordination import live_helpers as h
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

FULL = ("identity", "contact", "narrative", "status_updates", "case_notes")


@pytest.fixture
def case(members, agencies):
    liaison, shelter = members["liaison"], members["caseworker"]
    survivor = h.make_survivor(liaison)
    services.consent_record(
        actor=liaison,
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "shelter", categories=FULL),
    )
    referral = h.make_referral(liaison, survivor, [agencies["shelter"]])
    services.referral_transition(actor=shelter, referral_id=referral.id, action="accept")
    services.note_add(actor=shelter, referral_id=referral.id, text="canary-note")
    return referral


@pytest.fixture
def off_side(agencies):
    """A liaison of the recipient agency and a caseworker of the referring one."""
    return {
        "recipient_liaison": MemberFactory(agency=agencies["shelter"], role="liaison"),
        "referrer_caseworker": MemberFactory(agency=agencies["police"], role="caseworker"),
    }


@pytest.mark.parametrize("who", ["recipient_liaison", "referrer_caseworker"])
def test_the_other_side_of_an_agency_sees_nothing_of_the_referral(case, off_side, who):
    client = client_for(off_side[who])
    assert client.get("/api/v1/referrals/").json()["results"] == []
    for path in (f"/api/v1/referrals/{case.id}/", f"/api/v1/referrals/{case.id}/notes/"):
        assert client.get(path).status_code == 404
    note = client.post(f"/api/v1/referrals/{case.id}/notes/", {"text": "x"}, format="json")
    assert note.status_code == 404
    assert client.get("/api/v1/events/?after=0").json()["results"] == []


@pytest.mark.parametrize("who", ["recipient_liaison", "referrer_caseworker"])
def test_the_other_side_gets_the_same_404_page(case, off_side, who, client):
    client.force_login(off_side[who].user)
    assert client.get(f"/referrals/{case.id}/", HTTP_ACCEPT="text/html").status_code == 404


@pytest.mark.parametrize(
    ("role", "relation", "visible"),
    [
        ("liaison", access.REFERRER, True),
        ("caseworker", access.REFERRER, False),
        ("caseworker", access.RECIPIENT, True),
        ("liaison", access.RECIPIENT, False),
        ("agency_admin", access.REFERRER, False),
        ("agency_admin", access.RECIPIENT, False),
        ("compliance_officer", access.RECIPIENT, False),
    ],
)
def test_each_role_sees_only_its_side(case, agencies, role, relation, visible):
    agency = agencies["police"] if relation == access.REFERRER else agencies["shelter"]
    release = access.release(agency.id, case, role=role)
    assert release.visible is visible
    listed = access.visible_referrals(type(case).objects.all(), agency.id, role=role)
    assert listed.filter(pk=case.pk).exists() is visible
