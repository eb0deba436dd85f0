"""Emergency access pages: the caseworker's deliberate two steps, the compliance review
list, and the revocation that refuses emergency access."""

from __future__ import annotations

import pytest

from consent.models import ConsentRevocation
from coordination.models import EmergencyAccess
from tests.coordination.emergency_world import JUSTIFICATION
from tests.web.conftest import entries_since, head
from tests.web.test_markup import Controls

pytestmark = pytest.mark.django_db

FORM = {
    "reason_code": "medical_emergency",
    "justification": JUSTIFICATION,
    "categories": ["identity", "location"],
}


def test_opening_takes_two_deliberate_steps(released, members, agencies, browser):
    referral = released["referral"]
    worker = browser(members["legal_caseworker"])  # a recipient without consent
    url = f"/referrals/{referral.pk}/emergency-access/"
    assert worker.get(f"/referrals/{referral.pk}/").status_code == 404
    form = worker.get(url)
    assert form.status_code == 200
    assert b"to you alone" in form.content
    before = head()
    confirm = worker.post(url, FORM)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "Step 2 of 2" in body
    assert "identity" in body
    assert "location" in body
    assert "medical emergency" in body.lower()
    assert "4 hours" in body
    assert not EmergencyAccess.objects.exists()  # nothing opened yet
    assert entries_since(before) == []  # nor read or written
    opened = worker.post(f"{url}open/", FORM)
    assert opened.status_code == 302
    assert opened["Location"] == f"/referrals/{referral.pk}/"
    (access,) = EmergencyAccess.objects.all()
    assert access.member == members["legal_caseworker"]
    page = worker.get(f"/referrals/{referral.pk}/").content.decode()
    assert "canary-given" in page
    assert "canary-family" in page
    assert "canary-phone" not in page  # contact, not opened
    assert "Opened to you alone under emergency access" in page
    assert "until" in page  # the message says until when


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"justification": "too short"}, b"at least 20 characters"),
        ({"categories": []}, b"This field is required"),
        ({"reason_code": "bored"}, b"Select a valid choice"),
    ],
)
def test_a_bad_form_comes_back_with_its_errors(changes, problem, released, members, browser):
    url = f"/referrals/{released['referral'].pk}/emergency-access/"
    worker = browser(members["legal_caseworker"])
    worker.get(url)
    for step in (url, f"{url}open/"):
        response = worker.post(step, {**FORM, **changes})
        assert response.status_code == 400
        assert problem in response.content
    assert not EmergencyAccess.objects.exists()


def test_a_non_recipient_is_refused_at_the_open_step(released, members, browser):
    url = f"/referrals/{released['referral'].pk}/emergency-access/"
    outsider = browser(members["outsider"])
    outsider.get(url)
    assert outsider.post(f"{url}open/", FORM).status_code == 404
    assert not EmergencyAccess.objects.exists()


@pytest.mark.parametrize("who", ["liaison", "admin", "compliance"])
def test_only_caseworkers_reach_the_form(who, released, members, browser):
    url = f"/referrals/{released['referral'].pk}/emergency-access/"
    assert browser(members[who]).get(url).status_code == 403


def test_a_switched_off_network_refuses_the_form(released, members, browser, settings):
    settings.EMERGENCY_ACCESS_ENABLED = False
    url = f"/referrals/{released['referral'].pk}/emergency-access/"
    response = browser(members["legal_caseworker"]).get(url)
    assert response.status_code == 403
    assert b"switched off" in response.content


def test_compliance_reviews_on_its_page(released, members, browser):
    worker = browser(members["legal_caseworker"])
    url = f"/referrals/{released['referral'].pk}/emergency-access/"
    worker.get(url)
    worker.post(f"{url}open/", FORM)
    access = EmergencyAccess.objects.get()
    officer = browser(members["compliance"])
    before = head()
    page = officer.get("/emergency-access/", review_status="pending").content.decode()
    assert JUSTIFICATION in page
    assert released["survivor"].ref in page
    assert "canary-given" not in page
    (entry,) = entries_since(before)
    assert (entry.action, entry.object_type) == ("list", "emergency_access")
    parsed = Controls()  # the review form's controls are labelled too
    parsed.feed(page)
    assert len(parsed.controls) >= 3
    assert [c for c in parsed.controls if c not in parsed.labelled] == []
    response = officer.post(
        f"/emergency-access/{access.pk}/review/", {"decision": "unjustified", "note": "no"}
    )
    assert response.status_code == 302
    access.refresh_from_db()
    assert (access.review_status, access.review_note) == ("unjustified", "no")
    again = officer.post(
        f"/emergency-access/{access.pk}/review/", {"decision": "justified", "note": "yes"}
    )
    assert again.status_code == 302
    assert b"already been reviewed" in officer.get("/emergency-access/").content
    access.refresh_from_db()
    assert access.review_status == "unjustified"
    assert browser(members["caseworker"]).get("/emergency-access/").status_code == 403


def test_revocation_can_refuse_emergency_access(released, members, browser):
    consent = released["consent"]
    client = browser(members["liaison"])
    url = f"/survivors/{released['survivor'].pk}/consents/"
    page = client.get(url).content.decode()
    assert "also refuses emergency access" in page
    client.post(
        f"/consents/{consent.pk}/revoke/",
        {"reason": "asked by phone", "channel": "oral", "no_emergency_access": "on"},
        form_from=url,
    )
    assert ConsentRevocation.objects.get(consent=consent).no_emergency_access
    assert "no emergency access" in client.get(url).content.decode()
    form = f"/referrals/{released['referral'].pk}/emergency-access/"
    worker = browser(members["caseworker"])
    worker.get(form)
    refused = worker.post(f"{form}open/", FORM)
    assert refused.status_code == 403
    assert b"refused emergency access" in refused.content
