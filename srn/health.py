"""Liveness and readiness probes for the proxy and orchestrator (unauthenticated)."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


async def healthz(request):
    """The process is alive and answering."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


async def _channel_layer_ok() -> bool:
    layer = get_channel_layer()
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    async with asyncio.timeout(2):  # not wait_for: it can lose a cancellation (3.11)
        message = await layer.receive(channel)
    return message.get("type") == "readyz.ping"


async def readyz(request):
    """The database and the channel layer both answer; 503 names what does not."""
    checks = {}
    for name, probe in (
        ("database", sync_to_async(_database_ok, thread_sensitive=True)),
        ("channel_layer", _channel_layer_ok),
    ):
        try:
            checks[name] = "ok" if await probe() else "failing"
        except Exception:  # any failure of a dependency is "not ready", never a 500
            logger.warning("readiness check %s failed", name, exc_info=True)
            checks[name] = "failing"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
