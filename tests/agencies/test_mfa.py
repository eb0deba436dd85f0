"""The second factor (agencies/mfa.py): who needs it, the token endpoint's answers,
replayed and recovery codes, the two-step web sign-in and enrolment, and that no
secret or code reaches the audit trail."""

from __future__ import annotations

import itertools
import logging
import os

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agencies import mfa
from agencies.errors import AlreadyEnrolled, InvalidInput
from audit.models import AuditEntry
from tests.agencies.mfa_helpers import code_now, enrol, frozen_clock, password_step
from tests.conftest import client_for
from tests.factories import PASSWORD, MemberFactory

pytestmark = pytest.mark.django_db

STEP = 30


@pytest.fixture
def clock():
    with frozen_clock() as traveller:
        yield traveller


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED = True


def token_request(member, otp: str | None = None):
    body = {"username": member.user.username, "password": PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return client_for().post("/api/v1/auth/token/", body, format="json")


def last_entry(**match) -> AuditEntry:
    entry = AuditEntry.objects.filter(**match).order_by("-pk").first()
    assert entry is not None, match
    return entry


# --- the token endpoint: a matrix of setting x enrolment x code ----------------------

OTP_CASES = ("missing", "right", "wrong", "recovery")


@pytest.mark.parametrize(
    ("required_on", "enrolled", "otp"),
    list(itertools.product((False, True), (False, True), OTP_CASES)),
)
def test_token_endpoint_answers_by_setting_enrolment_and_code(
    settings, clock, required_on, enrolled, otp
):
    settings.MFA_REQUIRED = required_on
    member = MemberFactory()
    device, codes = enrol(member) if enrolled else (None, [])
    clock.shift(STEP)
    sent = {
        "missing": None,
        "right": code_now(device) if device else "123456",
        "wrong": "000000",
        "recovery": codes[0] if codes else "abcdefgh",
    }[otp]
    response = token_request(member, sent)
    if not (required_on or enrolled):  # the password alone signs in; a code is ignored
        expected = (200, None)
    elif otp == "missing":
        expected = (401, "otp_required")
    elif not enrolled:
        expected = (401, "mfa_enrolment_required")
    elif otp in ("right", "recovery"):
        expected = (200, None)
    else:
        expected = (401, "otp_invalid")
    code = response.json().get("code") if response.status_code != 200 else None
    assert (response.status_code, code) == expected, response.content
    if expected[0] == 200:
        login = last_entry(action="login", actor_user_id=member.user_id)
        factor = {"right": "totp", "recovery": "recovery_code"}.get(otp) if enrolled else None
        assert login.detail.get("factor") == factor
    elif code == "otp_invalid":
        failed = last_entry(action="mfa_failed", actor_user_id=member.user_id)
        assert (failed.outcome, failed.detail) == ("denied", {"step": "sign_in"})
    elif code == "otp_required":
        denied = last_entry(action="denied", actor_user_id=member.user_id)
        assert denied.detail["code"] == "otp_required"


def test_a_totp_code_works_once_even_within_its_time_step(clock):
    member = MemberFactory()
    device, _ = enrol(member)
    clock.shift(STEP)
    code = code_now(device)
    assert token_request(member, code).status_code == 200
    replayed = token_request(member, code)
    assert (replayed.status_code, replayed.json()["code"]) == (401, "otp_invalid")
    # A code of the step before the one used is refused too (drift tolerance is not
    # a way around last_t); the next step's code works.
    clock.shift(STEP)
    assert token_request(member, code_now(device)).status_code == 200


def test_each_recovery_code_works_once_and_the_entry_counts_what_is_left(clock):
    member = MemberFactory()
    _, codes = enrol(member)
    assert len(codes) == mfa.RECOVERY_CODE_COUNT == len(set(codes))
    assert token_request(member, codes[3].upper()).status_code == 200  # as typed, any case
    assert last_entry(action="login", actor_user_id=member.user_id).detail == {
        "method": "token",
        "factor": "recovery_code",
        "recovery_codes_left": 9,
    }
    again = token_request(member, codes[3])
    assert (again.status_code, again.json()["code"]) == (401, "otp_invalid")
    assert StaticToken.objects.filter(device__user=member.user).count() == 9


def test_enrolling_again_replaces_the_recovery_codes_only_after_a_reset(clock, members):
    member = members["caseworker"]
    _, first = enrol(member)
    with pytest.raises(AlreadyEnrolled):
        mfa.enrolment_start(member=member)
    response = client_for(members["admin"]).post(f"/api/v1/members/{member.pk}/mfa-reset/")
    assert response.status_code == 200
    assert response.json()["mfa_enrolled"] is False
    clock.shift(STEP)
    _, second = enrol(member)
    assert not set(first) & set(second)
    assert StaticToken.objects.filter(device__user=member.user).count() == 10


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    typed=st.one_of(
        st.text(max_size=12),
        st.from_regex(r"\A[0-9]{6}\Z"),
        st.just("abcd\x00efg"),  # PostgreSQL refuses NUL in text: never sent to it
    )
)
def test_no_code_but_the_apps_and_the_unused_recovery_codes_ever_passes(clock, typed):
    member = MemberFactory()
    device, codes = enrol(member)
    clock.shift(STEP)
    valid = {code_now(device), *codes}
    # The code of the step before still passes (one step of drift is tolerated).
    clock.shift(-STEP)
    valid.add(code_now(device))
    clock.shift(STEP)
    passed = mfa._verified(member.user, mfa.normalised(typed)) is not None
    assert passed == (mfa.normalised(typed) in valid)
    TOTPDevice.objects.filter(user=member.user).delete()


def test_a_wrong_confirmation_code_leaves_the_device_unconfirmed(clock):
    member = MemberFactory()
    device = mfa.enrolment_start(member=member)
    with pytest.raises(InvalidInput):
        mfa.enrolment_confirm(member=member, code="000000")
    device.refresh_from_db()
    assert not device.confirmed
    assert not mfa.has_factor(member.user)
    assert last_entry(action="mfa_failed").detail == {"step": "enrol"}
    # The same secret is offered until it is confirmed.
    assert mfa.enrolment_start(member=member).pk == device.pk


# --- nothing secret on the record -----------------------------------------------------


def test_no_secret_or_code_reaches_the_audit_trail_or_the_logs(clock, members, caplog):
    caplog.set_level(logging.DEBUG)
    member = members["caseworker"]
    device, codes = enrol(member)
    clock.shift(STEP)
    code = code_now(device)
    token_request(member, code)
    token_request(member, "999999")
    token_request(member, codes[0])
    client_for(members["admin"]).post(f"/api/v1/members/{member.pk}/mfa-reset/")
    secrets = [device.key, device.key.upper(), code, "999999", *codes]
    for entry in AuditEntry.objects.all():
        text = repr([getattr(entry, field.name) for field in AuditEntry._meta.fields]).lower()
        for secret in secrets:
            assert secret.lower() not in text, entry.action
    for secret in secrets:
        assert secret not in caplog.text


# --- resets: who may reset whose factor ----------------------------------------------

RESETS = [
    # actor, target, status
    ("admin", "caseworker", 200),
    ("admin", "admin_colleague", 200),
    ("admin", "admin", 409),  # nobody resets their own
    ("caseworker", "admin", 403),
    ("outsider_admin", "caseworker", 404),  # another agency's member: not found
    ("network_admin", "admin", 200),
    ("network_admin", "caseworker", 403),  # network admins reset agency admins only
    ("compliance", "caseworker", 403),
]


@pytest.mark.parametrize(("actor", "target", "status"), RESETS)
def test_who_may_reset_whose_second_factor(clock, members, agencies, actor, target, status):
    everyone = dict(
        members,
        admin_colleague=MemberFactory(agency=agencies["shelter"], role="agency_admin"),
        outsider_admin=MemberFactory(agency=agencies["outsider"], role="agency_admin"),
    )
    victim = everyone[target]
    enrol(victim)
    clock.shift(STEP)  # the confirming code's step is used up
    token = token_request(victim, code_now(TOTPDevice.objects.get(user=victim.user)))
    assert token.status_code == 200
    response = client_for(everyone[actor]).post(f"/api/v1/members/{victim.pk}/mfa-reset/")
    assert response.status_code == status, response.content
    assert mfa.has_factor(victim.user) is (status != 200)
    if status == 200:
        entry = last_entry(action="mfa_reset")
        assert (entry.actor_user_id, entry.object_id) == (
            everyone[actor].user_id,
            str(victim.pk),
        )
        assert entry.detail == {"had_factor": True}
        # Whoever holds the member's token may hold the lost phone: it ends too.
        bearer = client_for()
        bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
        assert bearer.get("/api/v1/me/").status_code == 401
    else:
        assert not AuditEntry.objects.filter(action="mfa_reset").exists()


def test_the_members_page_shows_the_factor_and_resets_it(clock, members):
    enrol(members["caseworker"])
    admin = Client()
    admin.force_login(members["admin"].user)
    page = admin.get("/members/")
    assert b"second factor set" in page.content
    assert f"/members/{members['caseworker'].pk}/mfa-reset/".encode() in page.content
    response = admin.post(f"/members/{members['caseworker'].pk}/mfa-reset/", follow=True)
    assert b"second factor is removed" in response.content
    assert not mfa.has_factor(members["caseworker"].user)


# --- the web sign-in: two steps -------------------------------------------------------

GATED = ["/", "/inbox/", "/members/", "/accounts/mfa/", "/api/v1/me/"]


def test_after_the_password_nothing_is_reachable_until_the_code(clock):
    member = MemberFactory()
    device, _ = enrol(member)
    clock.shift(STEP)
    client, response = password_step(member)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/code/"
    assert last_entry(action="mfa_challenge").detail == {"next": "code"}
    for path in GATED:
        blocked = client.get(path)
        assert blocked.status_code in (302, 401), path
        if blocked.status_code == 302:
            assert blocked["Location"].startswith("/accounts/login/"), path
    wrong = client.post("/accounts/login/code/", {"code": "000000"})
    assert wrong.status_code == 401
    assert b"not valid" in wrong.content
    done = client.post("/accounts/login/code/", {"code": code_now(device)})
    assert done.status_code == 302
    assert done["Location"] == "/"
    assert client.get("/api/v1/me/").status_code == 200
    assert last_entry(action="login").detail == {
        "method": "session",
        "factor": "totp",
        "recovery_codes_left": 10,
    }


def test_the_code_step_expires_with_its_five_minutes(clock):
    member = MemberFactory()
    device, _ = enrol(member)
    client, _ = password_step(member)
    clock.shift(301)
    late = client.post("/accounts/login/code/", {"code": code_now(device)})
    assert late.status_code == 401
    assert last_entry(action="denied").detail["code"] == "sign_in_not_pending"
    assert client.get("/api/v1/me/").status_code == 401


def test_a_member_without_a_factor_enrols_before_the_session_completes(required, clock):
    member = MemberFactory()
    client, response = password_step(member)
    assert response["Location"] == "/accounts/mfa/"
    assert last_entry(action="mfa_challenge").detail == {"next": "enrol"}
    page = client.get("/accounts/mfa/")
    assert page.status_code == 200
    assert b'src="data:image/svg+xml' in page.content  # the QR code, inline
    assert client.get("/api/v1/me/").status_code == 401  # not signed in yet
    device = TOTPDevice.objects.get(user=member.user)
    codes_page = client.post("/accounts/mfa/", {"code": code_now(device)})
    assert codes_page.status_code == 200
    shown = StaticToken.objects.filter(device__user=member.user).values_list("token", flat=True)
    assert len(shown) == 10
    assert all(code.encode() in codes_page.content for code in shown)
    actions = AuditEntry.objects.filter(actor_user_id=member.user_id).order_by("pk")
    assert list(actions.values_list("action", flat=True))[-2:] == ["mfa_confirm", "login"]
    assert client.get("/api/v1/me/").status_code == 200


def test_without_the_setting_a_member_without_a_factor_signs_in_with_the_password():
    member = MemberFactory()
    client, response = password_step(member)
    assert response["Location"] == "/"
    assert client.get("/api/v1/me/").status_code == 200


def test_a_member_enrols_on_their_own_and_then_needs_the_code(clock):
    member = MemberFactory()
    client = Client()
    client.force_login(member.user)
    client.get("/accounts/mfa/")
    device = TOTPDevice.objects.get(user=member.user)
    assert client.post("/accounts/mfa/", {"code": code_now(device)}).status_code == 200
    assert b"is set up" in client.get("/accounts/mfa/").content
    clock.shift(STEP)
    _, response = password_step(member)
    assert response["Location"] == "/accounts/login/code/"


# --- the limiter counts wrong codes ---------------------------------------------------


@pytest.mark.parametrize("via", ["web", "api"])
def test_wrong_codes_lock_the_account_and_a_right_password_does_not_forgive_them(
    clock, settings, via
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth_token": "1000/min", "ws_ticket": "1000/min"},
    }
    member = MemberFactory()
    device, _ = enrol(member)
    clock.shift(STEP)

    def wrong_code() -> int:
        if via == "api":
            return token_request(member, "000000").status_code
        client, _ = password_step(member)  # a fresh password step before each code
        return client.post("/accounts/login/code/", {"code": "000000"}).status_code

    assert [wrong_code() for _ in range(4)] == [401] * 4
    assert wrong_code() == 429  # the fifth locks
    assert last_entry(action="sign_in_locked").detail["scope"] == "account"
    # While locked even the right code is refused unchecked.
    refused = token_request(member, code_now(device)) if via == "api" else password_step(member)[1]
    assert refused.status_code == 429
    assert AuditEntry.objects.filter(action="mfa_failed", actor_user_id=member.user_id).count() == 5


def test_invitation_acceptance_leads_into_enrolment_when_required(required, members, clock):
    from django.core import mail

    from agencies import invitations

    invitations.invitation_create(
        actor=members["admin"],
        agency_id=members["admin"].agency_id,
        role="caseworker",
        username="new.worker",
        email="new.worker@example.org",
    )
    link = mail.outbox[-1].body.split("/invitations/")[1].split("/")[0]
    client = Client()
    password = "a-long-and-unusual-password-7"
    response = client.post(f"/invitations/{link}/", {"password": password, "confirm": password})
    assert response["Location"] == "/accounts/mfa/"
    assert client.get("/api/v1/me/").status_code == 401
    client.get("/accounts/mfa/")
    device = TOTPDevice.objects.get(user__username="new.worker")
    assert client.post("/accounts/mfa/", {"code": code_now(device)}).status_code == 200
    assert client.get("/api/v1/me/").json()["username"] == "new.worker"


def test_a_network_admin_resets_an_agency_admins_factor_from_its_page(clock, members, agencies):
    enrol(members["admin"])
    enrol(members["caseworker"])
    network = Client()
    network.force_login(members["network_admin"].user)
    shelter = agencies["shelter"].pk
    page = network.get(f"/network/agencies/{shelter}/admins/")
    assert page.status_code == 200
    assert members["admin"].user.username.encode() in page.content
    assert members["caseworker"].user.username.encode() not in page.content  # admins only
    assert last_entry(action="list").object_type == "membership"
    reset = network.post(f"/members/{members['admin'].pk}/mfa-reset/")
    assert reset["Location"] == f"/network/agencies/{shelter}/admins/"
    assert not mfa.has_factor(members["admin"].user)
    refused = network.post(f"/members/{members['caseworker'].pk}/mfa-reset/")
    assert refused.status_code == 403
    assert mfa.has_factor(members["caseworker"].user)


def test_mfa_is_required_by_default_in_the_production_profile_only():
    import srn.settings as loaded  # the module as the environment built it

    if "MFA_REQUIRED" not in os.environ:
        assert loaded.MFA_REQUIRED is loaded.PRODUCTION
    else:
        assert loaded.MFA_REQUIRED is (os.environ["MFA_REQUIRED"].strip().lower() == "true")
