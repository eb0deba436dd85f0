"""Every refusal leaves exactly one ``denied`` entry, with the request's context."""

import uuid

import pytest
from django.test import Client

from audit.models import AuditEntry
from tests.conftest import client_for
from tests.factories import PASSWORD, ReferralFactory, SurvivorFactory

pytestmark = pytest.mark.django_db


def _denials():
    return list(AuditEntry.objects.filter(action="denied"))


def test_a_bad_token_is_one_denied_entry_naming_nobody(members):
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    response = client.get("/api/v1/me/", HTTP_USER_AGENT="probe/1")
    assert response.status_code == 401
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.outcome, entry.actor_user_id) == ("denied", "denied", None)
    assert entry.detail["code"] == "authentication_failed"
    assert entry.detail["route"] == "api/v1/me/"
    assert entry.request_id == response["X-Request-ID"]
    assert entry.user_agent == "probe/1"


@pytest.mark.parametrize("who", ["liaison", "outsider"])
def test_survivor_patch_of_a_missing_or_foreign_id_is_one_denied_entry(who, members):
    foreign = SurvivorFactory(owner_agency=members["caseworker"].agency)
    target = uuid.uuid4() if who == "liaison" else foreign.pk
    member = members["liaison"]
    response = client_for(member).patch(
        f"/api/v1/survivors/{target}/", {"phone": "canary-patch-phone"}, format="json"
    )
    assert response.status_code == 404
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.object_type, entry.object_id) == ("denied", "survivor", str(target))
    assert entry.actor_user_id == member.user_id
    assert entry.detail == {
        "code": "not_found",
        "status": 404,
        "method": "PATCH",
        "route": "api/v1/survivors/<uuid:survivor_id>/",
    }


def test_a_hidden_referral_is_one_denied_entry_not_two(members, agencies):
    referral = ReferralFactory(
        survivor=SurvivorFactory(owner_agency=agencies["police"]), to=[agencies["shelter"]]
    )
    for path in (f"/api/v1/referrals/{referral.pk}/", f"/api/v1/referrals/{referral.pk}/notes/"):
        before = AuditEntry.objects.count()
        assert client_for(members["caseworker"]).get(path).status_code == 404
        assert AuditEntry.objects.count() == before + 1
    expected = [("referral", str(referral.pk))] * 2
    assert [(e.object_type, e.object_id) for e in _denials()] == expected


def test_a_hidden_referral_transition_and_note_are_denied_entries(members, agencies):
    referral = ReferralFactory(
        survivor=SurvivorFactory(owner_agency=agencies["police"]), to=[agencies["shelter"]]
    )
    client = client_for(members["caseworker"])
    base = f"/api/v1/referrals/{referral.pk}"
    accept = client.post(f"{base}/transitions/", {"action": "accept"}, format="json")
    assert accept.status_code == 404
    assert client.post(f"{base}/notes/", {"text": "canary-x"}, format="json").status_code == 404
    assert [e.detail["code"] for e in _denials()] == ["not_found", "not_found"]


def test_a_failed_login_is_one_entry_not_two(members):
    response = client_for().post(
        "/api/v1/auth/token/",
        {"username": members["liaison"].user.username, "password": "wrong"},
        format="json",
    )
    assert response.status_code == 401
    assert list(AuditEntry.objects.values_list("action", "outcome")) == [("login_failed", "denied")]


def test_throttled_token_requests_are_denied_entries(members):
    client = client_for()
    for n in range(11):  # a name each: five failures of one account would lock it first
        client.post(
            "/api/v1/auth/token/", {"username": f"nobody{n}", "password": "x"}, format="json"
        )
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["login_failed"] * 10 + [
        "denied"
    ]
    assert AuditEntry.objects.last().detail["code"] == "throttled"


def test_a_csrf_failure_is_one_denied_entry(members):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(members["admin"].user)
    response = browser.post(
        "/api/v1/members/", {"username": "x", "password": PASSWORD, "role": "caseworker"}
    )
    assert response.status_code == 403
    [entry] = _denials()
    assert entry.actor_user_id == members["admin"].user_id
    assert entry.actor_role == "agency_admin"


def test_a_csrf_failure_on_a_django_view_is_one_denied_entry(members):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/accounts/login/", {"username": members["liaison"].user.username, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.detail["code"]) == ("denied", "csrf_failed")


def test_an_unknown_url_is_not_about_anything_and_writes_nothing(members):
    assert client_for(members["liaison"]).get("/api/v1/no-such-thing/").status_code == 404
    assert not AuditEntry.objects.exists()
