"""The sign-in limiter (agencies.signin): the login page and the token endpoint share
one count per account and per client address; locks grow; an agency admin unlocks."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from agencies import signin
from agencies.models import SignInCounter
from audit.models import AuditEntry
from tests.conftest import client_for
from tests.factories import PASSWORD, MemberFactory

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"
PROXY = "10.9.9.9"


def attempt(via: str, username: str, password: str, *, address: str | None = None):
    """One sign-in through the page or the API; ``address`` arrives through the proxy."""
    extra = {}
    if address is not None:
        extra = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": address}
    if via == "api":
        return client_for().post(
            "/api/v1/auth/token/",
            {"username": username, "password": password},
            format="json",
            **extra,
        )
    return Client().post("/accounts/login/", {"username": username, "password": password}, **extra)


def fail(via: str, username: str, times: int, **kwargs) -> list[int]:
    return [attempt(via, username, WRONG, **kwargs).status_code for _ in range(times)]


def entries_since(seq: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__gt=seq).order_by("seq"))


def head() -> int:
    last = AuditEntry.objects.order_by("-seq").first()
    return last.seq if last else 0


def assert_refused(response, via: str, *, at_most: int):
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= at_most
    if via == "api":
        assert response.json()["code"] == "too_many_attempts"
        assert response.json()["detail"].startswith("Too many failed sign-ins.")
    else:
        assert b"Too many failed sign-ins. Try again in" in response.content
        assert b'name="password"' in response.content


@pytest.fixture
def trusted_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


@pytest.fixture
def caseworker(members):
    return members["caseworker"]


@pytest.mark.parametrize("via", ["web", "api"])
def test_five_failures_lock_the_account_and_then_the_right_password_is_refused(via, caseworker):
    username = caseworker.user.username
    statuses = fail(via, username, 5)
    assert statuses == [401, 401, 401, 401, 429]
    assert_refused(attempt(via, username, PASSWORD), via, at_most=60)


def test_the_page_and_the_api_share_one_count(caseworker):
    username = caseworker.user.username
    assert fail("web", username, 2) + fail("api", username, 2) == [401] * 4
    assert attempt("web", username, WRONG).status_code == 429
    assert_refused(attempt("api", username, PASSWORD), "api", at_most=60)
    assert_refused(attempt("web", username, PASSWORD), "web", at_most=60)


def test_every_step_is_audited(caseworker, members):
    user = caseworker.user
    fail("api", user.username, 4)
    before = head()
    attempt("web", user.username, WRONG)  # the fifth: it locks
    failed, locked = entries_since(before)
    assert (failed.action, failed.outcome, failed.detail) == (
        "login_failed",
        "denied",
        {"reason": "bad_credentials"},
    )
    assert (locked.action, locked.outcome) == ("sign_in_locked", "denied")
    assert locked.detail == {"scope": "account", "level": 1, "seconds": 60}
    assert (locked.actor_user_id, locked.actor_username) == (user.pk, user.username)
    assert locked.client_ip == "127.0.0.1"

    before = head()
    assert attempt("api", user.username, PASSWORD).status_code == 429
    [refused] = entries_since(before)  # one entry: the handler adds no second ``denied``
    assert (refused.action, refused.outcome) == ("denied", "denied")
    assert refused.detail["code"] == "too_many_attempts"
    assert refused.detail["status"] == 429
    assert refused.detail["scope"] == "account"
    assert refused.actor_user_id == user.pk

    before = head()
    response = client_for(members["admin"]).post(f"/api/v1/members/{caseworker.pk}/unlock/")
    assert response.status_code == 200
    [unlocked] = entries_since(before)
    assert (unlocked.action, unlocked.outcome) == ("member_unlock", "allowed")
    assert (unlocked.object_type, unlocked.object_id) == ("membership", str(caseworker.pk))
    assert unlocked.detail == {"was_locked": True}
    assert unlocked.actor_user_id == members["admin"].user_id

    before = head()
    assert attempt("web", user.username, PASSWORD).status_code == 302
    assert [e.action for e in entries_since(before)] == ["login"]


def test_a_refused_attempt_neither_counts_nor_extends_the_lock(caseworker):
    username = caseworker.user.username
    fail("web", username, 5)
    counter = SignInCounter.objects.get(scope="account")
    until = counter.locked_until
    assert fail("web", username, 3) == [429] * 3
    counter.refresh_from_db()
    assert (counter.locked_until, counter.failures, counter.level) == (until, [], 1)


def test_each_lock_is_longer_than_the_last_up_to_an_hour(caseworker, clock, trusted_proxy):
    username = caseworker.user.username
    seconds = []
    for round_ in range(9):
        address = f"198.51.100.{round_}"  # one each, so that only the account locks
        before = head()
        assert fail("web", username, 5, address=address)[-1] == 429
        [lock] = [e for e in entries_since(before) if e.action == "sign_in_locked"]
        seconds.append(lock.detail["seconds"])
        retry_after = int(attempt("web", username, PASSWORD, address=address)["Retry-After"])
        assert retry_after == lock.detail["seconds"]
        clock.shift(timedelta(seconds=retry_after - 1))
        assert attempt("web", username, PASSWORD, address=address).status_code == 429  # not yet
        clock.shift(timedelta(seconds=1))
    assert [s // 60 for s in seconds] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_after_the_wait_the_right_password_works_and_the_next_lock_starts_short(caseworker, clock):
    username = caseworker.user.username
    fail("web", username, 5)
    clock.shift(timedelta(seconds=61))
    fail("web", username, 5)  # the second lock: two minutes
    clock.shift(timedelta(minutes=2, seconds=1))
    assert attempt("api", username, PASSWORD).status_code == 200
    assert not SignInCounter.objects.filter(scope="account").exists()
    assert fail("web", username, 5)[-1] == 429
    assert SignInCounter.objects.get(scope="account").level == 1


def test_failures_outside_fifteen_minutes_do_not_add_up(caseworker, clock):
    username = caseworker.user.username
    assert fail("web", username, 4) == [401] * 4
    clock.shift(timedelta(minutes=15, seconds=1))
    assert fail("web", username, 4) == [401] * 4
    assert attempt("web", username, PASSWORD).status_code == 302


def test_a_day_of_quiet_forgets_the_lock_level(caseworker, clock):
    username = caseworker.user.username
    for _ in range(3):
        fail("web", username, 5)
        clock.shift(timedelta(hours=1))
    assert SignInCounter.objects.get(scope="account").level == 3
    clock.shift(timedelta(days=1))
    fail("web", username, 5)
    assert SignInCounter.objects.get(scope="account").level == 1


def test_failures_from_many_addresses_still_lock_the_account(caseworker, trusted_proxy):
    username = caseworker.user.username
    statuses = [
        attempt("web", username, WRONG, address=f"198.51.100.{n}").status_code for n in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    response = attempt("api", username, PASSWORD, address="198.51.100.77")
    assert_refused(response, "api", at_most=60)
    # Each address saw one failure: the account is what is locked.
    assert set(SignInCounter.objects.filter(scope="address").values_list("level", flat=True)) == {0}


def test_many_accounts_from_one_address_lock_the_address(members, trusted_proxy):
    address = "203.0.113.5"
    statuses = [
        attempt("web", f"guess{n}", WRONG, address=address).status_code
        for n in range(signin.ADDRESS_FAILURE_LIMIT)
    ]
    assert statuses == [401] * (signin.ADDRESS_FAILURE_LIMIT - 1) + [429]
    lock = AuditEntry.objects.filter(action="sign_in_locked").get()
    assert lock.detail == {"scope": "address", "level": 1, "seconds": 60}
    assert lock.client_ip == address
    # Even a real member's right password waits there; elsewhere it does not.
    username = members["liaison"].user.username
    assert_refused(attempt("web", username, PASSWORD, address=address), "web", at_most=60)
    refused = AuditEntry.objects.order_by("-seq").first()
    assert (refused.action, refused.detail["scope"]) == ("denied", "address")
    assert attempt("web", username, PASSWORD, address="203.0.113.6").status_code == 302


def test_a_client_written_forwarded_for_does_not_escape_the_address_count(members):
    # 127.0.0.1 is not a trusted proxy: the header is the client's, and ignored.
    statuses = [
        Client()
        .post(
            "/accounts/login/",
            {"username": f"guess{n}", "password": WRONG},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
        .status_code
        for n in range(signin.ADDRESS_FAILURE_LIMIT)
    ]
    assert statuses[-1] == 429
    assert SignInCounter.objects.get(scope="address").key == "127.0.0.1"


def test_an_unknown_account_locks_alike_and_nothing_typed_is_stored(db):
    typed = "maybe-a-password-in-the-wrong-box"
    assert fail("api", typed, 5) == [401, 401, 401, 401, 429]
    assert attempt("api", typed, WRONG).json()["code"] == "too_many_attempts"
    lock = AuditEntry.objects.get(action="sign_in_locked")
    assert (lock.actor_user_id, lock.actor_username) == (None, "")
    stored = list(SignInCounter.objects.values_list("key", flat=True))
    assert typed not in " ".join(stored)


def test_the_members_list_says_who_is_locked(caseworker, members):
    fail("api", caseworker.user.username, 5)
    rows = client_for(members["admin"]).get("/api/v1/members/").json()["results"]
    locked = {row["id"]: row["locked_until"] for row in rows}
    assert locked[caseworker.pk] is not None
    assert locked[members["admin"].pk] is None


def test_another_agencys_admin_cannot_unlock(caseworker, agencies):
    fail("web", caseworker.user.username, 5)
    stranger = MemberFactory(agency=agencies["outsider"], role="agency_admin")
    before = head()
    response = client_for(stranger).post(f"/api/v1/members/{caseworker.pk}/unlock/")
    assert response.status_code == 404
    [denied] = entries_since(before)[-1:]
    assert (denied.action, denied.detail["code"]) == ("denied", "not_found")
    assert attempt("web", caseworker.user.username, PASSWORD).status_code == 429


def test_a_member_who_is_not_an_admin_cannot_unlock(caseworker, members):
    fail("web", caseworker.user.username, 5)
    response = client_for(members["caseworker"]).post(f"/api/v1/members/{caseworker.pk}/unlock/")
    assert response.status_code == 403
    assert attempt("web", caseworker.user.username, PASSWORD).status_code == 429


def test_unlocking_a_member_who_is_not_locked_is_audited_as_such(caseworker, members):
    response = client_for(members["admin"]).post(f"/api/v1/members/{caseworker.pk}/unlock/")
    assert response.status_code == 200
    assert response.json()["locked_until"] is None
    entry = AuditEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.detail) == ("member_unlock", {"was_locked": False})
