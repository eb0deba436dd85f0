"""``Idempotency-Key`` for creating POSTs: a retry with the same key and body gets the
original response and creates nothing; the same key with another body is a 422."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from agencies.errors import Conflict, DomainError, Erased
from audit.models import Action
from audit.recorder import record_by
from audit.units import request_unit
from coordination.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
KEY_MAX = 255
STALE_AFTER = timedelta(minutes=2)  # a legacy pending claim is taken over after this


class IdempotencyKeyReused(
    DomainError,
    code="idempotency_key_reused",
    detail="This Idempotency-Key was used with a different request body.",
):
    """The same key with another body."""


class IdempotencyInProgress(
    Conflict,
    code="idempotency_in_progress",
    detail="A request with this Idempotency-Key is still being processed.",
):
    """The first request with this key has not finished."""


class InvalidIdempotencyKey(
    DomainError,
    code="invalid_idempotency_key",
    detail=f"Idempotency-Key must be 1 to {KEY_MAX} printable characters.",
):
    """Empty, too long or unprintable."""


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(create):
    """Wrap a view's ``post(self, request, ...)`` that returns a ``Response``.

    The key's claim, the creation (its change, audit entry and events) and the stored
    response are one transaction (``audit.units.request_unit``): a crash anywhere
    before its commit leaves nothing, after it leaves everything, so no retry can run
    the creation twice. A concurrent retry of the same key waits for the first to end
    (PostgreSQL holds its insert on the unique index; SQLite's immediate transactions
    run one writer at a time) and then replays its response, or runs afresh if the
    first failed."""

    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER)
        if key is None:
            return create(self, request, *args, **kwargs)
        if not key or len(key) > KEY_MAX or not key.isprintable():
            raise InvalidIdempotencyKey
        fingerprint = _fingerprint(request)
        with request_unit():
            claim = _claim(request.user, key, fingerprint)
            if claim.status_code is not None:
                if not claim.response_body:
                    # Stored under a survivor's key that erasure has since destroyed.
                    raise Erased
                # A replay discloses the stored response again: an access like any other.
                record_by(
                    request.member,
                    Action.VIEW,
                    "idempotent_replay",
                    claim.pk,
                    detail={"path": request.path, "status": claim.status_code},
                )
                return Response(
                    json.loads(claim.response_body),
                    status=claim.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = create(self, request, *args, **kwargs)
            claim.status_code = response.status_code
            # Kept under the data key of the survivor it is about (``concerning``).
            claim.survivor_id = getattr(response, "survivor_id", None)
            claim.response_body = json.dumps(response.data, default=str)
            claim.save(update_fields=["status_code", "survivor_id", "response_body"])
        return response

    wrapper.__name__ = create.__name__
    wrapper.__doc__ = create.__doc__
    return wrapper


def concerning(response: Response, survivor_id) -> Response:
    """Name the survivor a created resource's response is about: its stored copy for
    replays is then encrypted under their data key, and shredded with it."""
    response.survivor_id = survivor_id
    return response


def _claim(user, key: str, fingerprint: str) -> IdempotencyRecord:
    """The key's row, locked until the request's unit ends: the stored one, or a new
    one that commits with the creation. Runs inside the request's unit."""
    for _ in range(2):
        existing = IdempotencyRecord.objects.select_for_update().filter(user=user, key=key).first()
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise IdempotencyKeyReused
            # Only a claim written before claims committed with their response can be
            # pending; one younger than STALE_AFTER may still be running.
            pending = existing.status_code is None
            if pending and timezone.now() - existing.created_at < STALE_AFTER:
                raise IdempotencyInProgress
            return existing
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            continue  # a concurrent first attempt committed while we waited: replay it
    raise IdempotencyInProgress
