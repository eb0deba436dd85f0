"""``Idempotency-Key`` for creating POSTs: a retry with the same key and body gets the
original response and creates nothing; the same key with another body is a 422."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from agencies.errors import Conflict, DomainError
from audit.models import Action
from audit.recorder import record
from coordination.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
KEY_MAX = 255
STALE_AFTER = timedelta(minutes=2)  # a claim whose request died is taken over after this


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    detail = "This Idempotency-Key was used with a different request body."


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    detail = "A request with this Idempotency-Key is still being processed."


class InvalidIdempotencyKey(DomainError):
    code = "invalid_idempotency_key"
    detail = f"Idempotency-Key must be 1 to {KEY_MAX} printable characters."


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(create):
    """Wrap a view's ``post(self, request, ...)`` that returns a ``Response``."""

    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER)
        if key is None:
            return create(self, request, *args, **kwargs)
        if not key or len(key) > KEY_MAX or not key.isprintable():
            raise InvalidIdempotencyKey
        fingerprint = _fingerprint(request)
        claim = _claim(request.user, key, fingerprint)
        if claim.status_code is not None:
            # A replay discloses the stored response again: it is an access like any other.
            with transaction.atomic():
                record(
                    action=Action.VIEW,
                    actor=request.member.as_actor(),
                    object_type="idempotent_replay",
                    object_id=claim.pk,
                    detail={"path": request.path, "status": claim.status_code},
                )
            return Response(
                json.loads(claim.response_body),
                status=claim.status_code,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = create(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=claim.pk).delete()  # let a retry try again
            raise
        claim.status_code = response.status_code
        claim.response_body = json.dumps(response.data, default=str)
        claim.save(update_fields=["status_code", "response_body"])
        return response

    wrapper.__name__ = create.__name__
    wrapper.__doc__ = create.__doc__
    return wrapper


def _claim(user, key: str, fingerprint: str) -> IdempotencyRecord:
    with transaction.atomic():
        existing = IdempotencyRecord.objects.select_for_update().filter(user=user, key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(
                        user=user, key=key, request_hash=fingerprint
                    )
            except IntegrityError:
                raise IdempotencyInProgress from None
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused
        if existing.status_code is None:
            if timezone.now() - existing.created_at < STALE_AFTER:
                raise IdempotencyInProgress
            existing.created_at = timezone.now()
            existing.save(update_fields=["created_at"])
        return existing
