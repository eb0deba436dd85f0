"""Browser sessions end when idle (``SESSION_IDLE_MINUTES``) or too old
(``SESSION_MAX_HOURS``): signed out like a logout, audited, their sockets closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.utils import timezone

from agencies import services as agency_services
from agencies import sessions
from audit.models import Action, AuditEntry
from coordination.live import consumer as consumers
from tests.coordination import live_helpers as h
from tests.factories import PASSWORD

INBOX = "/inbox/"
INBOX_TABLE = "/inbox/table/"
LOGIN = "/accounts/login/"
BACKGROUND = {"HTTP_X_SRN_BACKGROUND": "refresh"}


@pytest.fixture(autouse=True)
def _session_limits(settings):
    settings.SESSION_IDLE_MINUTES = 15
    settings.SESSION_MAX_HOURS = 12


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


@pytest.fixture
def caseworker(members):
    return members["caseworker"]


def signed_in(member) -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": member.user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def later(clock, **delta) -> None:
    clock.shift(timedelta(**delta))


def logouts(member) -> list[dict]:
    return list(
        AuditEntry.objects.filter(action=Action.LOGOUT, actor_user_id=member.user_id)
        .order_by("seq")
        .values_list("detail", flat=True)
    )


def test_signing_in_starts_the_clocks(caseworker, clock):
    client = signed_in(caseworker)
    now = timezone.now().timestamp()
    assert client.session[sessions.SIGNED_IN_AT] == now
    assert client.session[sessions.ACTIVE_AT] == now


def test_requests_of_the_members_own_keep_the_session_alive(caseworker, clock):
    client = signed_in(caseworker)
    for _ in range(4):
        later(clock, minutes=14)
        assert client.get(INBOX).status_code == 200
    assert logouts(caseworker) == []


def test_an_idle_session_is_signed_out_audited_and_sent_to_sign_in(caseworker, clock):
    client = signed_in(caseworker)
    later(clock, minutes=15)

    response = client.get(INBOX)

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert logouts(caseworker) == [{"method": "session", "reason": "idle"}]
    assert client.get(INBOX)["Location"].startswith(LOGIN)  # signed out for good
    assert len(logouts(caseworker)) == 1


def test_background_refreshes_do_not_extend_the_idle_time(caseworker, clock):
    client = signed_in(caseworker)
    later(clock, minutes=10)
    assert client.get(INBOX_TABLE, **BACKGROUND).status_code == 200
    later(clock, minutes=5)

    response = client.get(INBOX_TABLE, **BACKGROUND)

    assert response.status_code == 302
    assert logouts(caseworker) == [{"method": "session", "reason": "idle"}]


def test_the_same_fetch_without_the_background_mark_is_activity(caseworker, clock):
    client = signed_in(caseworker)
    later(clock, minutes=10)
    assert client.get(INBOX_TABLE).status_code == 200
    later(clock, minutes=10)
    assert client.get(INBOX).status_code == 200


def test_the_lifetime_ends_a_session_however_active(caseworker, clock, settings):
    settings.SESSION_MAX_HOURS = 1
    client = signed_in(caseworker)
    for _ in range(5):
        later(clock, minutes=10)
        assert client.get(INBOX).status_code == 200
    later(clock, minutes=10)

    assert client.get(INBOX)["Location"] == LOGIN
    assert logouts(caseworker) == [{"method": "session", "reason": "lifetime"}]


def test_the_api_answers_401_to_an_ended_session_cookie(caseworker, clock):
    client = signed_in(caseworker)
    later(clock, minutes=16)

    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    assert logouts(caseworker) == [{"method": "session", "reason": "idle"}]


def test_a_token_call_that_also_carries_an_ended_session_cookie_goes_on(caseworker, clock):
    client = signed_in(caseworker)
    _, token = agency_services.token_issue(member=caseworker)
    later(clock, minutes=16)

    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert logouts(caseworker) == [{"method": "session", "reason": "idle"}]


def test_the_sign_in_page_ends_an_idle_session_and_shows_the_form(caseworker, clock):
    client = signed_in(caseworker)
    later(clock, minutes=20)

    response = client.get(LOGIN)

    assert response.status_code == 200
    assert logouts(caseworker) == [{"method": "session", "reason": "idle"}]
    assert client.get(INBOX)["Location"].startswith(LOGIN)


def test_pages_carry_the_seconds_left_and_the_warning(caseworker, clock):
    client = signed_in(caseworker)
    later(clock, minutes=5)
    page = client.get(INBOX).content.decode()

    assert 'data-session-seconds="900"' in page  # this request restarted the idle time
    assert f'data-session-lifetime-seconds="{12 * 3600 - 5 * 60}"' in page
    assert 'role="alertdialog"' in page
    assert "Stay signed in" in page
    assert "<script>" not in page  # the warning is site.js, under the CSP

    later(clock, minutes=4)
    response = client.get(INBOX_TABLE, **BACKGROUND)
    assert response[sessions.SECONDS_LEFT_HEADER] == str(11 * 60)


def test_the_pages_session_check_reports_the_time_left_without_extending_it(caseworker, clock):
    client = signed_in(caseworker)
    later(clock, minutes=14)
    check = client.get("/api/v1/me/", **BACKGROUND)
    assert check.status_code == 200
    assert check[sessions.SECONDS_LEFT_HEADER] == "60"

    stay = client.get("/api/v1/me/")  # "Stay signed in"
    assert stay[sessions.SECONDS_LEFT_HEADER] == "900"


def test_the_seconds_left_never_pass_the_lifetime(caseworker, clock, settings):
    settings.SESSION_MAX_HOURS = 1
    client = signed_in(caseworker)
    for _ in range(4):
        later(clock, minutes=10)
        client.get(INBOX)
    later(clock, minutes=10)
    assert 'data-session-seconds="600"' in client.get(INBOX).content.decode()


def test_the_sign_in_page_carries_no_session_clock(db):
    page = Client().get(LOGIN).content.decode()
    assert "data-session-seconds" not in page
    assert "alertdialog" not in page


# --- sockets ------------------------------------------------------------------------------


@pytest.fixture
def _live_settings(settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = [h.ORIGIN]
    settings.WS_HEARTBEAT_SECONDS = 60
    settings.WS_HELLO_TIMEOUT_SECONDS = 5
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    yield
    async_to_sync(layer.flush)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_live_settings", "worker_connections_closed")
async def test_an_idle_session_closes_its_sockets_and_no_others(caseworker):
    idle, other = await h.run(signed_in)(caseworker), await h.run(signed_in)(caseworker)
    sockets = []
    for client in (idle, other):
        socket = h.communicator(cookie=client.cookies["sessionid"].value)
        assert (await socket.connect())[0]
        await h.subscribe(socket)
        sockets.append(socket)

    def come_back_after_the_idle_time():
        with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
            assert idle.get(INBOX).status_code == 302

    await h.run(come_back_after_the_idle_time)()

    assert (await sockets[0].receive_json_from(timeout=2))["type"] == "closing"
    assert await h.closed_with(sockets[0], timeout=2) == consumers.CLOSE_SESSION_ENDED
    await h.no_more_events(sockets[1])
    await sockets[1].disconnect()
    assert await h.run(logouts)(caseworker) == [{"method": "session", "reason": "idle"}]
