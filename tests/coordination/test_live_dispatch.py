"""``coordination.live.dispatch``: a process hears each agency's nudges once and wakes
its own sockets of that agency, and only those."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from coordination import services
from coordination.live import dispatch
from coordination.outbox import stream_group
from tests.coordination import live_helpers as h
from tests.factories import MemberFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_connections_closed"),
]


@pytest.fixture(autouse=True)
def _live_settings(settings):
    settings.WEBSOCKET_ALLOWED_ORIGINS = [h.ORIGIN]
    settings.WS_HEARTBEAT_SECONDS = 60  # no heartbeat catches up within a test
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    yield
    async_to_sync(layer.flush)()


@pytest.fixture
def referral(members, agencies):
    survivor = h.make_survivor(members["liaison"])
    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **h.consent_fields(agencies, "shelter")
    )
    return h.make_referral(members["liaison"], survivor, [agencies["shelter"], agencies["legal"]])


async def _members_of(group: str) -> set[str]:
    """The channels the layer holds in ``group`` (in memory, or in Redis)."""
    layer = get_channel_layer()
    if hasattr(layer, "groups"):
        return set(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return {channel.decode() for channel in await connection.zrange(layer._group_key(group), 0, -1)}


async def test_one_subscription_per_agency_wakes_every_socket_of_it(members, agencies, referral):
    colleagues = [members["caseworker"]] + [
        await h.run(MemberFactory)(agency=agencies["shelter"], role="caseworker") for _ in range(3)
    ]
    shelter = [(await h.open_session_socket(member))[0] for member in colleagues]
    police, _ = await h.open_session_socket(members["liaison"])
    legal, _ = await h.open_session_socket(members["legal_caseworker"])
    layer = get_channel_layer()
    listening = dispatch.dispatcher(layer)

    # The layer holds one member per agency group: this process's channel.
    for agency in ("shelter", "police", "legal"):
        assert await _members_of(stream_group(agencies[agency].id)) == {listening.channel}

    await h.run(services.referral_transition)(
        actor=members["caseworker"], referral_id=referral.id, action="accept"
    )
    for socket in [*shelter, police]:  # the referrer under the consent's status_updates
        (event,) = await h.next_events(socket, 1)
        assert event["kind"] == "referral.accepted"
    await h.no_more_events(legal)  # legal aid heard of nothing: its sockets never woke

    for socket in [*shelter, police, legal]:
        await socket.disconnect()
    for agency in ("shelter", "police", "legal"):
        assert await _members_of(stream_group(agencies[agency].id)) == set()
    assert listening.listening is None
    assert not listening.sockets


async def test_a_socket_that_left_is_not_woken_and_the_others_still_are(
    members, agencies, referral
):
    colleague = await h.run(MemberFactory)(agency=agencies["shelter"], role="caseworker")
    staying, _ = await h.open_session_socket(members["caseworker"])
    leaving, _ = await h.open_session_socket(colleague)
    await leaving.disconnect()
    listening = dispatch.dispatcher(get_channel_layer())
    assert [len(sockets) for sockets in listening.sockets.values()] == [1]

    await h.run(services.referral_transition)(
        actor=members["caseworker"], referral_id=referral.id, action="accept"
    )
    (event,) = await h.next_events(staying, 1)
    assert event["kind"] == "referral.accepted"
    await staying.disconnect()
    assert listening.listening is None


async def test_the_subscription_is_renewed_and_still_delivers(
    members, agencies, referral, monkeypatch
):
    """The layers expire a group's members after a day: the process joins again on
    its own (here after every message) and its sockets go on hearing."""
    monkeypatch.setattr(dispatch, "RENEW_SECONDS", 0.0)
    socket, _ = await h.open_session_socket(members["caseworker"])
    listening = dispatch.dispatcher(get_channel_layer())
    joined = listening.renewed
    for action in ("accept", "start"):
        await h.run(services.referral_transition)(
            actor=members["caseworker"], referral_id=referral.id, action=action
        )
        (event,) = await h.next_events(socket, 1)
        assert event["status"] == {"accept": "accepted", "start": "in_progress"}[action]
    assert await _members_of(stream_group(agencies["shelter"].id)) == {listening.channel}
    assert listening.renewed > joined  # joined again since
    await socket.disconnect()
