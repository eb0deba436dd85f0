"""Role x endpoint matrix for the foundation endpoints, plus auth life-cycle."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken

from agencies.models import Membership, Role
from audit.models import AuditEntry
from tests.conftest import client_for
from tests.factories import PASSWORD, MemberFactory

pytestmark = pytest.mark.django_db

ROLES = ["liaison", "caseworker", "admin", "compliance", "outsider"]
CALLERS = [*ROLES, "anonymous", "deactivated", "no_membership"]


def caller_client(kind, members, agencies):
    if kind == "anonymous":
        return client_for(None)
    if kind == "deactivated":
        member = MemberFactory(agency=agencies["shelter"], role=Role.CASEWORKER, is_active=False)
        return client_for(member)
    if kind == "no_membership":
        from tests.factories import UserFactory

        client = client_for(None)
        client.force_authenticate(user=UserFactory())
        return client
    return client_for(members[kind])


def expected_status(kind, allowed_roles, ok=200):
    if kind in ("anonymous",):
        return 401
    if kind in ("deactivated", "no_membership"):
        return 403
    return ok if kind in allowed_roles else 403


@pytest.mark.parametrize("kind", CALLERS)
def test_agency_directory_is_for_every_active_member(kind, members, agencies):
    response = caller_client(kind, members, agencies).get("/api/v1/agencies/")
    assert response.status_code == expected_status(kind, ROLES)
    if response.status_code == 200:
        slugs = {row["slug"] for row in response.json()["results"]}
        assert slugs == {a.slug for a in agencies.values()}
    else:
        assert set(response.json()) == {"code", "detail"}


@pytest.mark.parametrize("kind", CALLERS)
def test_me_describes_the_caller_only(kind, members, agencies):
    response = caller_client(kind, members, agencies).get("/api/v1/me/")
    assert response.status_code == expected_status(kind, ROLES)
    if response.status_code == 200:
        body = response.json()
        member = members[kind]
        assert body["username"] == member.user.username
        assert body["role"] == member.role
        assert body["agency"]["id"] == member.agency_id


@pytest.mark.parametrize("kind", CALLERS)
def test_member_list_is_for_agency_admins_of_their_own_agency(kind, members, agencies):
    response = caller_client(kind, members, agencies).get("/api/v1/members/")
    assert response.status_code == expected_status(kind, ["admin"])
    if response.status_code == 200:
        ids = {row["id"] for row in response.json()["results"]}
        own = set(
            Membership.objects.filter(agency=agencies["shelter"]).values_list("id", flat=True)
        )
        assert ids == own


@pytest.mark.parametrize("kind", CALLERS)
def test_only_agency_admins_add_members(kind, members, agencies):
    body = {"username": "new.worker", "password": "a-long-unusual-passphrase", "role": "caseworker"}
    response = caller_client(kind, members, agencies).post("/api/v1/members/", body, format="json")
    assert response.status_code == expected_status(kind, ["admin"], ok=201)
    created = Membership.objects.filter(user__username="new.worker").first()
    if response.status_code == 201:
        assert created.agency == agencies["shelter"]
        assert "password" not in response.json()
    else:
        assert created is None


@pytest.mark.parametrize("kind", CALLERS)
def test_only_own_agency_admin_changes_roles(kind, members, agencies):
    target = members["caseworker"]
    response = caller_client(kind, members, agencies).patch(
        f"/api/v1/members/{target.pk}/", {"role": "liaison"}, format="json"
    )
    assert response.status_code == expected_status(kind, ["admin"])
    target.refresh_from_db()
    assert target.role == ("liaison" if response.status_code == 200 else "caseworker")


def test_admin_of_another_agency_cannot_see_or_touch_members(members, agencies):
    other_admin = MemberFactory(agency=agencies["legal"], role=Role.AGENCY_ADMIN)
    client = client_for(other_admin)
    target = members["caseworker"]
    assert (
        client.patch(
            f"/api/v1/members/{target.pk}/", {"role": "liaison"}, format="json"
        ).status_code
        == 404
    )
    assert client.post(f"/api/v1/members/{target.pk}/deactivate/").status_code == 404
    target.refresh_from_db()
    assert target.role == Role.CASEWORKER
    assert target.is_active


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"username": "x y", "password": "a-long-unusual-passphrase", "role": "caseworker"},
            "username",
        ),
        ({"username": "ok.name", "password": "short", "role": "caseworker"}, "password"),
        ({"username": "ok.name", "password": "a-long-unusual-passphrase", "role": "boss"}, "role"),
        (
            {
                "username": "ok.name",
                "password": "a-long-unusual-passphrase",
                "role": "compliance_officer",
            },
            "role",
        ),
    ],
)
def test_bad_member_input_names_the_field_and_writes_nothing(body, field, members):
    users_before = get_user_model().objects.count()
    response = client_for(members["admin"]).post("/api/v1/members/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert get_user_model().objects.count() == users_before


def test_taken_username_is_refused(members):
    body = {
        "username": members["liaison"].user.username,
        "password": "a-long-unusual-passphrase",
        "role": "caseworker",
    }
    response = client_for(members["admin"]).post("/api/v1/members/", body, format="json")
    assert response.status_code == 400
    assert "username" in response.json()["fields"]


def test_a_deactivated_members_role_cannot_change(members, agencies):
    gone = MemberFactory(agency=agencies["shelter"], role=Role.CASEWORKER, is_active=False)
    before = AuditEntry.objects.count()
    response = client_for(members["admin"]).patch(
        f"/api/v1/members/{gone.pk}/", {"role": "liaison"}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "member_deactivated",
        "detail": "This member is deactivated: their role cannot be changed.",
    }
    gone.refresh_from_db()
    assert gone.role == Role.CASEWORKER
    assert AuditEntry.objects.count() == before


def test_admin_cannot_deactivate_themselves(members):
    admin = members["admin"]
    response = client_for(admin).post(f"/api/v1/members/{admin.pk}/deactivate/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def _token(client, username, password=PASSWORD):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def test_token_authenticates_the_member(members):
    response = _token(client_for(), members["liaison"].user.username)
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["expiry"]
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me/").json()["username"] == members["liaison"].user.username


@pytest.mark.parametrize("case", ["wrong_password", "unknown_user", "inactive_member", "empty"])
def test_bad_credentials_get_the_same_401(case, members, agencies):
    username, password = members["liaison"].user.username, "not-the-password"
    if case == "unknown_user":
        username = "nobody-here"
    if case == "inactive_member":
        password = PASSWORD
        Membership.objects.filter(pk=members["liaison"].pk).update(is_active=False)
    if case == "empty":
        response = client_for().post("/api/v1/auth/token/", {}, format="json")
        assert response.status_code == 400
        assert {"username", "password"} <= set(response.json()["fields"])
        return
    response = _token(client_for(), username, password)
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "detail": "Unable to log in with the given username and password.",
    }
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "login_failed"
    assert entry.outcome == "denied"
    if case == "unknown_user":
        assert entry.actor_username == ""
        assert entry.actor_user_id is None


def test_token_endpoint_is_throttled(members, settings):
    client = client_for()
    # A name each: five failures of one account would lock it (agencies.signin) first.
    responses = [_token(client, f"nobody{n}", "x") for n in range(12)]
    assert [r.status_code for r in responses[:10]] == [401] * 10
    assert [r.json()["code"] for r in responses[10:]] == ["throttled", "throttled"]


def test_spoofed_forwarded_for_does_not_escape_the_throttle(members):
    client = client_for()
    responses = [
        client.post(
            "/api/v1/auth/token/",
            {"username": f"nobody{n}", "password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
        for n in range(12)
    ]
    assert responses[-1].status_code == 429
    assert responses[-1].json()["code"] == "throttled"


def test_invalid_or_expired_token_is_401_json(members, time_machine):
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"

    token = _token(client_for(), members["liaison"].user.username).json()["token"]
    from django.utils import timezone

    time_machine.move_to(timezone.now() + timedelta(hours=9))  # past the 8 h default lifetime
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me/").status_code == 401


def test_logout_invalidates_the_token(members):
    token = _token(client_for(), members["liaison"].user.username).json()["token"]
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_deactivating_a_member_ends_their_tokens_and_sessions_at_once(members):
    target = members["caseworker"]
    token = _token(client_for(), target.user.username).json()["token"]
    browser = client_for()
    browser.login(username=target.user.username, password=PASSWORD)
    assert browser.get("/api/v1/me/").status_code == 200

    response = client_for(members["admin"]).post(f"/api/v1/members/{target.pk}/deactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False

    api = client_for()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me/").status_code == 401
    assert browser.get("/api/v1/me/").status_code in (401, 403)
    assert not AuthToken.objects.filter(user=target.user).exists()


def test_session_login_page_logs_in_and_audits(members):
    from django.test import Client

    browser = Client(enforce_csrf_checks=False)
    page = browser.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="password"' in page.content
    bad = browser.post(
        "/accounts/login/", {"username": members["liaison"].user.username, "password": "nope"}
    )
    assert bad.status_code == 401
    good = browser.post(
        "/accounts/login/", {"username": members["liaison"].user.username, "password": PASSWORD}
    )
    assert good.status_code == 302
    assert browser.get("/api/v1/me/").status_code == 200
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [
        "login_failed",
        "login",
        "view",
    ]
    browser.post("/accounts/logout/")
    assert browser.get("/api/v1/me/").status_code in (401, 403)


def test_session_writes_need_csrf(members):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.login(username=members["admin"].user.username, password=PASSWORD)
    response = browser.post(
        "/api/v1/members/",
        {"username": "csrf.victim", "password": "a-long-unusual-passphrase", "role": "caseworker"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Membership.objects.filter(user__username="csrf.victim").exists()
