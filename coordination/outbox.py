"""Outbox writes and the after-commit nudge to the channel layer.

``emit`` must run inside the transaction of the change it reports. The channel-layer
message only says "something changed": consumers read the outbox from their last
``seq`` (channel layers deliver at most once and may drop).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from coordination import access
from coordination.models import Event, EventCounter

logger = logging.getLogger(__name__)

EVENTS_GROUP = "events"


def emit(*, kind: str, referral, agency_id: int | None = None, status: str = "") -> Event:
    counter = EventCounter.objects.select_for_update().filter(pk=1).first()
    if counter is None:
        EventCounter.objects.get_or_create(pk=1, defaults={"seq": 0})
        counter = EventCounter.objects.select_for_update().get(pk=1)
    counter.seq += 1
    counter.save(update_fields=["seq"])
    event = Event.objects.create(
        seq=counter.seq,
        kind=kind,
        referral=referral,
        survivor_ref=referral.survivor.ref,
        agency_id=agency_id,
        status=status,
        at=timezone.now(),
    )
    audience = access.event_audience(event, referral.referring_agency_id)
    message = {
        "type": "events.changed",
        "seq": event.seq,
        "audience": sorted(audience) if audience is not None else None,
    }
    transaction.on_commit(lambda: publish(message))
    return event


def publish(message: dict) -> None:
    """Nudge live consumers; losing this message loses nothing (they read the outbox).

    It carries the ``seq`` and the agencies that could receive the event, never the
    event itself: each socket reads the outbox and asks the access rule."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(EVENTS_GROUP, message)
    except Exception:  # the outbox is the delivery; a failed nudge is only latency
        logger.warning("event nudge %s not published", message["seq"], exc_info=True)
