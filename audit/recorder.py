"""``record()``: the one way an audit entry is written.

Call it inside the transaction of the access it records. The entry is written
unsealed, so it commits with the access or not at all (if it cannot be written the
exception propagates and the caller's transaction, and the access it was about to
make, rolls back: fail closed) and no chain lock is taken while the caller goes on
with its work. ``audit.sealer`` links it into the chain after commit, on the process's
sealer thread (batched: within ``sealer.LATEST`` seconds), or at once when
``record()``'s transaction is the outermost one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from audit import context, sealer
from audit.chain import content_of
from audit.models import AuditEntry, Outcome
from srn import prepared


@dataclass(frozen=True)
class Actor:
    """Who acted: a user acting for one agency in one role (or nobody, for the system)."""

    user_id: int | None = None
    username: str = ""
    agency_id: int | None = None
    agency: str = ""
    role: str = ""


SYSTEM = Actor(username="system")


def _storable(value):
    """PostgreSQL stores no NUL character in text or jsonb: a client-written value that
    carries one (``%00`` in a query string, a header) is kept with it visibly replaced,
    rather than failing the access it records."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


class Acting(Protocol):
    """A member acting for their agency (``agencies.models.Membership``)."""

    def as_actor(self) -> Actor: ...


def record_by(
    member: Acting | None, action: str, object_type: str = "", object_id: Any = "", **facts
) -> AuditEntry:
    """``record()`` of what a member did or was shown, to one object: the member is the
    actor (``None``: the system); ``facts`` are ``record()``'s other keywords
    (``survivor_ref``, ``detail``, …)."""
    return record(
        action=action,
        actor=SYSTEM if member is None else member.as_actor(),
        object_type=object_type,
        object_id=object_id,
        **facts,
    )


def record(
    *,
    action: str,
    actor: Actor | None,
    outcome: str = Outcome.ALLOWED,
    object_type: str = "",
    object_id: Any = "",
    survivor_ref: str = "",
    categories: Iterable[str] = (),
    consent_ids: Iterable[Any] = (),
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry to the trail and return it (sealed, unless it waits for the
    caller's transaction to commit).

    ``detail`` must hold codes and states only — never a free-text value a user typed.
    """
    actor = actor or Actor()
    request = context.current()
    # No savepoint inside the caller's transaction: an entry that cannot be written
    # must end that transaction, not be rolled back alone while the access goes on.
    with transaction.atomic(savepoint=False):
        content = _storable(
            {
                "at": timezone.now(),
                "actor_user_id": actor.user_id,
                "actor_username": actor.username,
                "actor_agency_id": actor.agency_id,
                "actor_agency": actor.agency,
                "actor_role": actor.role,
                "action": str(action),
                "object_type": object_type,
                "object_id": str(object_id) if object_id not in (None, "") else "",
                "survivor_ref": survivor_ref or "",
                "categories": sorted({str(category) for category in categories}),
                "consent_ids": sorted({str(consent_id) for consent_id in consent_ids}),
                "outcome": str(outcome),
                "detail": detail or {},
                "request_id": request.request_id,
                "client_ip": request.client_ip,
                "user_agent": request.user_agent,
            }
        )
        entry = prepared.insert(AuditEntry(**content))
        if sealer.in_outer_transaction():
            sealer.seal_after_commit()
        else:
            # The last statement of the outermost transaction: take the lock now.
            for sealed in sealer.seal_pending():
                if sealed.pk == entry.pk:
                    for name in sealer.SEALED_FIELDS:
                        setattr(entry, name, getattr(sealed, name))
    if entry.outcome == Outcome.DENIED:
        context.state().denied_entry = (entry.pk, entry.request_id)
    return entry


__all__ = ["SYSTEM", "Actor", "content_of", "record", "record_by"]
