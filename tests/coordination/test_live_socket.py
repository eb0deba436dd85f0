"""``/ws/v1/events/``: handshake, replay then live, resume, revocation and logout cut-off."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session
from rest_framework.test import APIClient

from agencies import services as agency_services
from agencies.models import WsTicket
from audit.models import AuditEntry
from coordination import services
from coordination.live import consumer as consumers
from coordination.models import Event
from tests.coordination import live_helpers as h

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_connections_closed"),
]


@pytest.fixture(autouse=True)
def _live_settings(settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = [h.ORIGIN]
    settings.WS_HEARTBEAT_SECONDS = 60
    settings.WS_HELLO_TIMEOUT_SECONDS = 5
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    yield
    async_to_sync(layer.flush)()


@pytest.fixture
def world(members, agencies):
    """A survivor of the police, consented to the shelter, referred to shelter and legal
    aid (legal aid has no consent, so its status waits)."""
    survivor = h.make_survivor(members["liaison"])
    consent = services.consent_record(
        actor=members["liaison"],
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "shelter"),
    )
    referral = h.make_referral(
        members["liaison"], survivor, [agencies["shelter"], agencies["legal"]]
    )
    return {"survivor": survivor, "consent": consent, "referral": referral}


def rest_stream(member) -> list[dict]:
    client = APIClient()
    client.force_authenticate(member.user)
    after, results = 0, []
    while True:
        body = client.get(f"/api/v1/events/?after={after}").json()
        results += body["results"]
        if body["last_seq"] == after:
            return results
        after = body["last_seq"]


def seqs(events) -> list[int]:
    return [event["seq"] for event in events]


# --- handshake ----------------------------------------------------------------------------


async def test_session_cookie_authenticates_and_is_audited(members, world):
    socket, replayed = await h.open_session_socket(members["caseworker"])
    assert seqs(replayed) == sorted(seqs(replayed))
    assert replayed
    assert {e["kind"] for e in replayed} == {"referral.requested"}
    await socket.disconnect()

    entries = await h.run(
        lambda: list(AuditEntry.objects.filter(object_type="ws").order_by("seq"))
    )()
    assert [(e.action, e.outcome) for e in entries] == [
        ("ws_connect", "allowed"),
        ("ws_subscribe", "allowed"),
    ]
    connect, subscribe = entries
    assert connect.detail == {"method": "session"}
    assert subscribe.detail == {"after": 0}
    for entry in entries:
        assert entry.actor_user_id == members["caseworker"].user_id
        assert entry.actor_agency == "shelter"
        assert entry.actor_role == "caseworker"
        assert entry.user_agent == "pytest-ws"
        assert entry.request_id
    assert connect.request_id == subscribe.request_id  # one connection, one id


async def test_ticket_authenticates_once(members, agencies, world):
    token = await h.run(h.token_for)(members["caseworker"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = await h.run(client.post)("/api/v1/auth/ws-ticket/")
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    ticket = response.json()["ticket"]
    assert response.json()["expires_in"] == 60
    stored = await h.run(lambda: list(WsTicket.objects.values_list("digest", flat=True)))()
    assert ticket not in stored  # only its hash is kept

    first = h.communicator()
    assert (await first.connect())[0]
    replayed = await h.subscribe(first, ticket=ticket)
    assert replayed
    assert {e["agency"] for e in replayed} == {agencies["shelter"].id}
    await first.disconnect()

    second = h.communicator()
    assert (await second.connect())[0]
    await second.send_json_to({"type": "hello", "after": 0, "ticket": ticket})
    error = await second.receive_json_from()
    assert error == {"type": "error", "code": "invalid_ticket", "detail": error["detail"]}
    assert await h.closed_with(second) == consumers.CLOSE_UNAUTHENTICATED

    denied = await h.run(
        lambda: list(AuditEntry.objects.filter(action="denied", object_type="ws"))
    )()
    assert [e.detail["code"] for e in denied] == ["invalid_ticket"]


async def test_expired_ticket_and_ended_token_are_refused(members, world):
    token = await h.run(h.token_for)(members["caseworker"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    expired = (await h.run(client.post)("/api/v1/auth/ws-ticket/")).json()["ticket"]
    orphan = (await h.run(client.post)("/api/v1/auth/ws-ticket/")).json()["ticket"]

    def age_first_ticket():
        from datetime import timedelta

        from django.utils import timezone

        row = WsTicket.objects.order_by("id").first()
        row.expires_at = timezone.now() - timedelta(seconds=1)
        row.save()

    await h.run(age_first_ticket)()
    assert (await h.run(client.post)("/api/v1/auth/logout/")).status_code == 204
    for ticket in (expired, orphan, "x" * 43, None, 12345):
        socket = h.communicator()
        assert (await socket.connect())[0]
        hello = {"type": "hello", "after": 0}
        if ticket is not None:
            hello["ticket"] = ticket
        await socket.send_json_to(hello)
        assert (await socket.receive_json_from())["code"] == "invalid_ticket"
        assert await h.closed_with(socket) == consumers.CLOSE_UNAUTHENTICATED


def test_ws_ticket_endpoint_needs_a_live_role_and_a_credential(members, world):
    for name in ("admin", "compliance"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {h.token_for(members[name])}")
        assert client.post("/api/v1/auth/ws-ticket/").status_code == 403
    assert APIClient().post("/api/v1/auth/ws-ticket/").status_code == 401


@pytest.mark.parametrize(
    "origin_headers",
    [
        [(b"origin", b"https://evil.example")],
        [(b"origin", b"null")],
        [],
        [(b"origin", b"http://srn.example")],  # scheme matters
        [(b"origin", b"https://srn.example:8443")],  # port matters
        [(b"origin", h.ORIGIN.encode()), (b"origin", b"https://evil.example")],
    ],
    ids=["foreign", "null", "missing", "scheme", "port", "two"],
)
async def test_refused_origins_fail_the_handshake_and_are_audited(members, world, origin_headers):
    cookie = await h.run(h.session_cookie)(members["caseworker"])
    socket = h.communicator(cookie=cookie, origin=None, headers=origin_headers)
    connected, _ = await socket.connect()
    assert not connected
    denied = await h.run(lambda: list(AuditEntry.objects.filter(object_type="ws")))()
    assert [(e.action, e.detail["code"]) for e in denied] == [("denied", "origin_refused")]


@pytest.mark.parametrize("name", ["admin", "compliance"])
async def test_roles_without_referrals_are_refused(members, world, name):
    cookie = await h.run(h.session_cookie)(members[name])
    socket = h.communicator(cookie=cookie)
    connected, _ = await socket.connect()
    assert not connected
    denied = await h.run(lambda: AuditEntry.objects.get(object_type="ws"))()
    assert denied.detail == {"code": "role_refused"}
    assert denied.actor_role == members[name].role


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        '{"type": "subscribe"}',
        '{"type": "hello"}',
        '{"type": "hello", "after": -1}',
        '{"type": "hello", "after": "5"}',
        '{"type": "hello", "after": true}',
        '{"type": "hello", "after": 99999}',
        "[1, 2]",
        '{"type": "hello", "after": 0, "pad": "' + "x" * 5000 + '"}',
    ],
)
async def test_bad_hellos_get_an_error_code_and_a_close(members, world, message):
    cookie = await h.run(h.session_cookie)(members["caseworker"])
    socket = h.communicator(cookie=cookie)
    assert (await socket.connect())[0]
    await socket.send_to(text_data=message)
    error = await socket.receive_json_from()
    assert error["type"] == "error"
    assert error["code"] in {"invalid_message", "invalid_after"}
    assert await h.closed_with(socket) == consumers.CLOSE_BAD_MESSAGE
    # Audited like every other refusal: who, and which code.
    denied = await h.run(
        lambda: list(AuditEntry.objects.filter(object_type="ws", action="denied"))
    )()
    assert [e.detail for e in denied] == [{"code": error["code"]}]
    assert denied[0].outcome == "denied"
    assert denied[0].actor_user_id == members["caseworker"].user_id


async def test_a_second_hello_closes_the_socket_and_is_audited(members, world):
    socket, _ = await h.open_session_socket(members["caseworker"])
    await socket.send_json_to({"type": "hello", "after": 0})
    assert (await socket.receive_json_from())["code"] == "invalid_message"
    assert await h.closed_with(socket) == consumers.CLOSE_BAD_MESSAGE
    denied = await h.run(lambda: AuditEntry.objects.get(object_type="ws", action="denied"))()
    assert denied.detail == {"code": "invalid_message"}
    assert denied.actor_agency == "shelter"


async def test_a_socket_that_never_says_hello_is_closed(members, world, settings):
    settings.WS_HELLO_TIMEOUT_SECONDS = 1
    socket = h.communicator()
    assert (await socket.connect())[0]
    assert (await socket.receive_json_from(timeout=3))["code"] == "hello_timeout"
    assert await h.closed_with(socket) == consumers.CLOSE_HELLO_TIMEOUT


# --- replay, live, resume -------------------------------------------------------------------


async def test_replay_then_live_in_seq_order_matches_rest(members, world):
    shelter = members["caseworker"]
    socket, replayed = await h.open_session_socket(shelter)
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=world["referral"].id, action="accept"
    )
    await h.run(services.note_add)(
        actor=shelter, referral_id=world["referral"].id, text="canary-note"
    )
    live = await h.next_events(socket, 2)
    assert [e["kind"] for e in live] == ["referral.accepted", "note.added"]
    await h.no_more_events(socket)
    await socket.disconnect()

    received = replayed + live
    assert seqs(received) == sorted(set(seqs(received)))
    assert received == [{"type": "event", **e} for e in await h.run(rest_stream)(shelter)]
    for event in received:
        assert set(event) <= {
            "type",
            "seq",
            "kind",
            "referral",
            "survivor_ref",
            "agency",
            "status",
            "at",
        }
        assert "canary" not in str(event)


async def test_reconnect_resumes_from_last_seq_without_loss_or_duplicates(members, world):
    shelter, liaison = members["caseworker"], members["liaison"]
    referral_id = world["referral"].id
    socket, first = await h.open_session_socket(shelter)
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=referral_id, action="accept"
    )
    first += await h.next_events(socket, 1)
    await socket.disconnect()

    # While away: changes the shelter may see, and some it may not.
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=referral_id, action="start"
    )
    await h.run(services.note_add)(actor=liaison, referral_id=referral_id, text="canary-note")
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=referral_id, action="hold", reason="canary-reason"
    )

    socket, resumed = await h.open_session_socket(shelter, after=first[-1]["seq"])
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=referral_id, action="start"
    )
    resumed += await h.next_events(socket, 1)
    await socket.disconnect()

    whole = await h.run(rest_stream)(shelter)
    assert seqs(first) + seqs(resumed) == seqs(whole)
    assert [e["kind"] for e in resumed] == [
        "referral.in_progress",
        "referral.on_hold",
        "referral.in_progress",
    ]  # the referrer's note is withheld: no narrative consent


async def test_no_gap_or_duplicate_across_the_replay_live_boundary(members, world):
    """Changes committed while a socket replays land exactly once, in order."""
    shelter = members["caseworker"]
    survivors = [await h.run(h.make_survivor)(members["liaison"]) for _ in range(3)]

    async def churn():
        for survivor in survivors:
            await h.run(services.consent_record)(
                actor=members["liaison"],
                survivor_id=survivor.id,
                **h.consent_fields({"shelter": shelter.agency}, "shelter"),
            )
            await h.run(h.make_referral)(members["liaison"], survivor, [shelter.agency])
            await asyncio.sleep(0)

    writer = asyncio.create_task(churn())
    socket, received = await h.open_session_socket(shelter)
    await writer
    expected = await h.run(rest_stream)(shelter)
    missing = len(expected) - len(received)
    received += await h.next_events(socket, missing)
    await h.no_more_events(socket)
    await socket.disconnect()
    assert seqs(received) == seqs(expected)
    assert len(seqs(received)) == len(set(seqs(received))) == 4


async def test_a_dropped_nudge_is_caught_up_by_the_heartbeat(members, world, settings):
    settings.WS_HEARTBEAT_SECONDS = 1
    shelter = members["caseworker"]
    socket, _ = await h.open_session_socket(shelter)

    def accept_without_nudge():
        from unittest import mock

        with mock.patch("coordination.outbox.publish"):
            services.referral_transition(
                actor=shelter, referral_id=world["referral"].id, action="accept"
            )

    await h.run(accept_without_nudge)()
    (event,) = await h.next_events(socket, 1, timeout=3)
    assert event["kind"] == "referral.accepted"
    heartbeat = await socket.receive_json_from(timeout=3)
    assert heartbeat == {"type": "heartbeat", "last_seq": event["seq"]}
    await socket.disconnect()


async def test_sockets_of_one_process_share_their_checks_and_reads(members, agencies, world):
    """Ten sockets woken by one event do not cost ten times the queries."""
    from unittest import mock

    from agencies import live_auth
    from coordination import event_stream as live
    from tests.factories import MemberFactory

    caseworkers = [
        await h.run(MemberFactory)(agency=agencies["shelter"], role="caseworker") for _ in range(10)
    ]
    sockets = [(await h.open_session_socket(m))[0] for m in caseworkers]
    checks = mock.Mock(wraps=live_auth.entitled_many)
    reads = mock.Mock(wraps=live.agency_batch)
    with (
        mock.patch.object(live_auth, "entitled_many", checks),
        mock.patch.object(live, "agency_batch", reads),
    ):
        await h.run(services.referral_transition)(
            actor=members["caseworker"], referral_id=world["referral"].id, action="accept"
        )
        for socket in sockets:
            (event,) = await h.next_events(socket, 1)
            assert event["kind"] == "referral.accepted"
    assert 1 <= checks.call_count <= 5
    assert 1 <= reads.call_count <= 5
    assert sum(len(call.args[0]) for call in checks.call_args_list) == 10
    for socket in sockets:
        await socket.disconnect()


# --- who hears what -------------------------------------------------------------------------


async def test_each_agency_hears_only_what_the_access_rule_allows(members, agencies, world):
    liaison, shelter = members["liaison"], members["caseworker"]
    sockets = {}
    for name in ("liaison", "caseworker", "legal_caseworker", "outsider"):
        sockets[name], _ = await h.open_session_socket(members[name])
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=world["referral"].id, action="accept"
    )
    # The liaison sees "accepted" (status_updates consented); the shelter its own move.
    for name in ("liaison", "caseworker"):
        (event,) = await h.next_events(sockets[name], 1)
        assert (event["kind"], event["status"]) == ("referral.accepted", "accepted")
    for name in ("legal_caseworker", "outsider"):
        await h.no_more_events(sockets[name], quiet=0.1)

    await h.run(services.note_add)(actor=liaison, referral_id=world["referral"].id, text="canary")
    (note,) = await h.next_events(sockets["liaison"], 1)
    assert note["kind"] == "note.added"
    for name in ("caseworker", "legal_caseworker", "outsider"):  # no narrative consent
        await h.no_more_events(sockets[name], quiet=0.1)
    for socket in sockets.values():
        await socket.disconnect()


async def test_referrer_without_status_updates_hears_no_masked_change(members, agencies):
    liaison, shelter = members["liaison"], members["caseworker"]
    survivor = await h.run(h.make_survivor)(liaison)
    await h.run(services.consent_record)(
        actor=liaison,
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "shelter", categories=("identity",)),
    )
    referral = await h.run(h.make_referral)(liaison, survivor, [agencies["shelter"]])
    socket, replayed = await h.open_session_socket(liaison)
    assert [e["status"] for e in replayed] == ["requested"]
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=referral.id, action="accept"
    )
    await h.no_more_events(socket)
    await h.run(services.referral_transition)(
        actor=liaison, referral_id=referral.id, action="cancel", reason="canary-reason"
    )
    (cancelled,) = await h.next_events(socket, 1)
    assert cancelled["status"] == "cancelled"
    await socket.disconnect()


async def test_a_masked_change_moves_none_of_the_referrers_numbers(members, agencies, settings):
    """The referrer's ``ready``, heartbeats and next ``seq`` count only what it is shown:
    the hidden acceptance leaves no jump for it to notice."""
    settings.WS_HEARTBEAT_SECONDS = 0.5
    liaison, shelter = members["liaison"], members["caseworker"]
    survivor = await h.run(h.make_survivor)(liaison)
    await h.run(services.consent_record)(
        actor=liaison,
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "shelter", categories=("identity",)),
    )
    referral = await h.run(h.make_referral)(liaison, survivor, [agencies["shelter"]])
    socket = h.communicator(cookie=await h.run(h.session_cookie)(liaison))
    assert (await socket.connect())[0]
    await socket.send_json_to({"type": "hello", "after": 0})
    requested = await socket.receive_json_from()
    assert (requested["seq"], requested["status"]) == (1, "requested")
    assert await socket.receive_json_from() == {"type": "ready", "last_seq": 1}

    for action in ("accept", "start"):
        await h.run(services.referral_transition)(
            actor=shelter, referral_id=referral.id, action=action
        )
    assert await socket.receive_json_from(timeout=3) == {"type": "heartbeat", "last_seq": 1}
    await h.run(services.referral_transition)(
        actor=liaison, referral_id=referral.id, action="cancel", reason="canary-reason"
    )
    (cancelled,) = await h.next_events(socket, 1)
    assert (cancelled["seq"], cancelled["status"]) == (2, "cancelled")
    assert await socket.receive_json_from(timeout=3) == {"type": "heartbeat", "last_seq": 2}
    await socket.disconnect()
    assert [e["seq"] for e in await h.run(rest_stream)(liaison)] == [1, 2]


# --- cut-offs -------------------------------------------------------------------------------


async def test_revocation_sends_consent_revoked_then_nothing_more(members, world):
    liaison, shelter = members["liaison"], members["caseworker"]
    referral_id = world["referral"].id
    socket, _ = await h.open_session_socket(shelter)
    await h.run(services.consent_revoke)(
        actor=liaison, consent_id=world["consent"].id, reason="canary-reason", channel="oral"
    )
    (revoked,) = await h.next_events(socket, 1)
    assert (revoked["kind"], revoked["referral"]) == ("consent.revoked", str(referral_id))
    assert revoked["status"] == "consent_revoked"

    await h.run(services.note_add)(actor=liaison, referral_id=referral_id, text="canary-note")
    await h.run(services.referral_transition)(
        actor=liaison, referral_id=referral_id, action="cancel", reason="canary-reason"
    )
    await h.no_more_events(socket)
    await socket.disconnect()

    # A reconnect from the start learns only that access ended.
    socket, replayed = await h.open_session_socket(shelter)
    assert [e["kind"] for e in replayed] == ["consent.revoked"]
    await socket.disconnect()


async def test_expiry_job_cuts_off_like_a_revocation(members, world):
    shelter = members["caseworker"]
    socket, _ = await h.open_session_socket(shelter)

    def expire():
        # Moving the consent's expiry rather than the clock: the in-memory channel
        # layer expires group memberships by wall-clock time.
        from django.utils import timezone

        from consent.models import Consent

        Consent.objects.filter(pk=world["consent"].pk).update(expires_at=timezone.now())
        assert services.consent_expire_due() == 1

    await h.run(expire)()
    (event,) = await h.next_events(socket, 1)
    assert event["kind"] == "consent.revoked"
    await socket.disconnect()


@pytest.mark.parametrize("how", ["api_logout", "deactivate", "role_change"])
async def test_logout_or_deactivation_closes_session_sockets_within_2s(members, world, how):
    shelter = members["caseworker"]
    cookie = await h.run(h.session_cookie)(shelter)
    socket = h.communicator(cookie=cookie)
    assert (await socket.connect())[0]
    await h.subscribe(socket)

    def end():
        if how == "api_logout":
            client = APIClient()
            client.cookies["sessionid"] = cookie
            assert client.post("/api/v1/auth/logout/").status_code == 204
        elif how == "deactivate":
            agency_services.member_deactivate(actor=members["admin"], member_id=shelter.pk)
        else:
            agency_services.member_change_role(
                actor=members["admin"], member_id=shelter.pk, role="agency_admin"
            )

    await h.run(end)()
    closing = await socket.receive_json_from(timeout=2)
    assert closing["type"] == "closing"
    assert await h.closed_with(socket, timeout=2) == consumers.CLOSE_SESSION_ENDED


async def test_token_logout_closes_ticket_sockets_of_that_token_only(members, world):
    shelter = members["caseworker"]
    tokens = [await h.run(h.token_for)(shelter) for _ in range(2)]
    sockets = []
    for token in tokens:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        ticket = (await h.run(client.post)("/api/v1/auth/ws-ticket/")).json()["ticket"]
        socket = h.communicator()
        assert (await socket.connect())[0]
        await h.subscribe(socket, ticket=ticket)
        sockets.append(socket)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
    assert (await h.run(client.post)("/api/v1/auth/logout/")).status_code == 204
    assert await h.closed_with(sockets[0], timeout=2) == consumers.CLOSE_SESSION_ENDED
    await h.no_more_events(sockets[1])
    await sockets[1].disconnect()


async def test_a_lost_logout_message_still_stops_delivery(members, world):
    """With the bus silent, the re-check before each delivery still closes the socket."""
    shelter = members["caseworker"]
    socket, _ = await h.open_session_socket(shelter)
    await h.run(lambda: Session.objects.all().delete())()
    await h.run(services.referral_transition)(
        actor=shelter, referral_id=world["referral"].id, action="accept"
    )
    assert (await socket.receive_json_from(timeout=2))["type"] == "closing"
    assert await h.closed_with(socket) == consumers.CLOSE_SESSION_ENDED
    assert await h.run(Event.objects.filter(kind="referral.accepted").exists)()
