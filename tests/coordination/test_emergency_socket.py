"""The socket follows emergency access: the member who opened it, and only they, hear of
the referral while it lasts; their colleagues' sockets hear nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from coordination import services
from coordination.models import EmergencyAccess
from tests.coordination import live_helpers as h
from tests.coordination.emergency_world import OPENED, make_world

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


def _open(member, referral):
    return services.emergency_access_open(
        actor=member,
        referral_id=referral.pk,
        reason_code="missing_person",
        justification="canary-justification-5W, last seen at the station",
        categories=OPENED,
    )


def _expire(opened_id):
    # The clock of the socket's worker thread is not the test's: end the access by moving
    # its expiry into the past instead (as the passing of time would).
    EmergencyAccess.objects.filter(pk=opened_id).update(
        opened_at=timezone.now() - timedelta(hours=5),
        expires_at=timezone.now() - timedelta(hours=1),
    )


async def test_only_the_member_hears_while_the_access_lasts(members, agencies):
    world = await h.run(make_world)("none", agencies, members)
    member, referral = members["caseworker"], world["referral"]
    sockets = {}
    for name, who in (("member", member), ("colleague", world["colleague"])):
        sockets[name], replayed = await h.open_session_socket(who)
        assert replayed == []
    opened = await h.run(_open)(member, referral)
    (event,) = await h.next_events(sockets["member"], 1)
    assert (event["kind"], event["referral"]) == ("emergency.opened", str(referral.pk))
    await h.run(services.note_add)(actor=members["liaison"], referral_id=referral.pk, text="n")
    (note,) = await h.next_events(sockets["member"], 1)
    assert note["kind"] == "note.added"
    assert note["seq"] > event["seq"]
    await h.no_more_events(sockets["colleague"])

    await h.run(_expire)(opened.pk)
    await h.run(services.note_add)(actor=members["liaison"], referral_id=referral.pk, text="m")
    await h.no_more_events(sockets["member"])
    await h.no_more_events(sockets["colleague"])
    for socket in sockets.values():
        await socket.disconnect()


async def test_a_member_replays_what_the_access_lets_them_hear(members, agencies):
    world = await h.run(make_world)("none", agencies, members)
    member, referral = members["caseworker"], world["referral"]
    await h.run(_open)(member, referral)
    await h.run(services.note_add)(actor=members["liaison"], referral_id=referral.pk, text="n")
    socket, replayed = await h.open_session_socket(member)
    assert [event["kind"] for event in replayed] == ["emergency.opened", "note.added"]
    colleague, replayed = await h.open_session_socket(world["colleague"])
    assert replayed == []
    await socket.disconnect()
    await colleague.disconnect()
