"""``GET /api/v1/events/?after=SEQ``: the WebSocket's stream, over REST."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.errors import InvalidInput
from agencies.models import LIVE_ROLES
from agencies.permissions import role_required
from agencies.routes import route
from coordination import event_stream, selectors
from coordination.api import schema

MAX_SEQ = 2**63 - 1


def _after(params) -> int:
    raw = params.get("after", "0")
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_SEQ:
        raise InvalidInput(fields={"after": ["Must be the last seq seen (0 for all)."]})
    return int(raw)


@route("events/", name="event-list")
class EventListView(APIView):
    """Events after ``after`` that the caller's agency may see now, in ``seq`` order.

    Each call examines up to 500 outbox entries: continue from ``last_seq`` until
    ``results`` comes back empty with ``last_seq`` unchanged.
    """

    permission_classes = [role_required(*LIVE_ROLES)]

    @extend_schema(
        parameters=[OpenApiParameter("after", int, description="the last seq seen (0 for all)")],
        responses=schema.EventBatch,
    )
    def get(self, request):
        after = _after(request.query_params)
        with transaction.atomic():
            batch = event_stream.events_after(request.member, after)
            selectors.events_shown(request.member, after, batch)
        results = [event_stream.event_payload(event) for event in batch.events]
        for payload in results:
            del payload["type"]
        return Response({"results": results, "last_seq": batch.last_seq})
