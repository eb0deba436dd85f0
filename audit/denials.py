"""Refusals: each refused request leaves exactly one ``denied`` entry.

The layer that turns a refusal into a response (DRF's exception handler, Django's
403/404/CSRF handlers, the admin site) calls ``record_denial``. An access helper may
already have written the request's ``denied`` entry; if that entry survived (it is
rolled back with the transaction it was written in when the view's transaction
fails), nothing more is written.
"""

from __future__ import annotations

from django.db import transaction

from audit import context
from audit.models import Action, AuditEntry, Outcome
from audit.recorder import Actor, record

# Refusals: each writes the request's one ``denied`` audit entry. 400s (bad input),
# 405, 409 and 412 are not refusals of access and are not audited as such.
REFUSAL_STATUSES = frozenset({401, 403, 404, 429})

# URL keyword -> audited object type, where the two differ.
OBJECT_TYPE_BY_KWARG = {"member_id": "membership", "access_id": "emergency_access"}


def denial_recorded() -> bool:
    """Whether this request already has a committed (or still pending) denied entry."""
    written = context.state().denied_entry
    if written is None:
        return False
    pk, request_id = written
    return AuditEntry.objects.filter(pk=pk, request_id=request_id).exists()


def object_of(resolver_match) -> tuple[str, str]:
    """The object a refused request was about, from its URL keywords (ids only)."""
    kwargs = getattr(resolver_match, "kwargs", None) or {}
    for name, value in kwargs.items():
        if name.endswith("_id"):
            return OBJECT_TYPE_BY_KWARG.get(name, name.removesuffix("_id")), str(value)
    return "", ""


def record_denial(
    *,
    actor: Actor | None,
    code: str,
    status: int,
    request=None,
    object_type: str = "",
    object_id: str = "",
    detail: dict | None = None,
):
    """Write the request's one ``denied`` entry, unless it has one already."""
    if denial_recorded():
        return None
    match = getattr(request, "resolver_match", None)
    if not object_type:
        object_type, object_id = object_of(match)
    particulars = {"code": code, "status": status}
    if request is not None:
        particulars["method"] = request.method
        particulars["route"] = getattr(match, "route", "") or ""
    particulars.update(detail or {})
    with transaction.atomic():
        return record(
            action=Action.DENIED,
            actor=actor,
            outcome=Outcome.DENIED,
            object_type=object_type,
            object_id=object_id,
            detail=particulars,
        )
