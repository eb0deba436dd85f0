"""Checks that only mean something against the production profile's real servers."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

pytestmark = pytest.mark.production


@pytest.mark.django_db
def test_production_profile_runs_on_postgresql():
    assert settings.PRODUCTION
    assert connection.vendor == "postgresql"


def test_channel_layer_is_redis_and_round_trips():
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")

    async def round_trip():
        channel = await layer.new_channel("prodcheck.")
        await layer.group_add("prodcheck", channel)
        await layer.group_send("prodcheck", {"type": "probe", "n": 7})
        message = await layer.receive(channel)
        await layer.group_discard("prodcheck", channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "probe", "n": 7}


def test_cache_is_shared_redis():
    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()
    cache.set("prodcheck", "shared", 5)
    assert cache.get("prodcheck") == "shared"


@pytest.mark.django_db
def test_survivor_pii_column_holds_no_plaintext_on_postgresql(members):
    from consent import services as consent_services

    survivor = consent_services.survivor_create(
        actor=members["liaison"], data={"given_name": "canary-pg"}
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT given_name FROM consent_survivor WHERE id = %s", [survivor.id])
        (stored,) = cursor.fetchone()
    assert "canary" not in stored
