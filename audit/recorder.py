"""``record()``: how an audit entry is written.

Call it inside the transaction of the access it records. (A change that writes its
entry in its own statement — ``coordination.outbox.Carried`` — builds it with
``entry_by`` and hands it to ``written`` once the statement ran, in the same
transaction: the same content, the same sealing.) The entry is written
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
from typing import Any, Protocol, TypedDict, Unpack

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
    return written(entry_by(member, action, object_type, object_id, **facts))


class Facts(TypedDict, total=False):
    """What an entry says besides who acted and what they did (``record()``'s keywords)."""

    outcome: str  # Outcome.ALLOWED unless given
    object_type: str
    object_id: Any
    survivor_ref: str
    categories: Iterable[str]
    consent_ids: Iterable[Any]
    detail: dict | None


_FACTS = frozenset(Facts.__annotations__)


def record(*, action: str, actor: Actor | None, **facts: Unpack[Facts]) -> AuditEntry:
    """Append one entry to the trail and return it (sealed, unless it waits for the
    caller's transaction to commit).

    ``detail`` must hold codes and states only — never a free-text value a user typed.
    """
    return written(entry_of(action=action, actor=actor, **facts))


def entry_by(
    member: Acting | None,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    **facts: Unpack[Facts],
) -> AuditEntry:
    """The entry ``record_by`` writes, not written yet: for a change that writes it in its
    own statement (``coordination.outbox.Carried``) and then calls ``written``."""
    return entry_of(
        action=action,
        actor=SYSTEM if member is None else member.as_actor(),
        object_type=object_type,
        object_id=object_id,
        **facts,
    )


def entry_of(*, action: str, actor: Actor | None, **facts: Unpack[Facts]) -> AuditEntry:
    """The entry ``record()`` writes, with its content (its time, the request's ids)."""
    unknown = facts.keys() - _FACTS
    if unknown:
        raise TypeError(f"an audit entry has no {sorted(unknown)}")
    actor = actor or Actor()
    request = context.current()
    content = _storable(
        {
            "at": timezone.now(),
            "actor_user_id": actor.user_id,
            "actor_username": actor.username,
            "actor_agency_id": actor.agency_id,
            "actor_agency": actor.agency,
            "actor_role": actor.role,
            "action": str(action),
            "object_type": facts.get("object_type", ""),
            "object_id": _object_id(facts.get("object_id", "")),
            "survivor_ref": facts.get("survivor_ref") or "",
            "categories": sorted({str(category) for category in facts.get("categories", ())}),
            "consent_ids": sorted({str(consent_id) for consent_id in facts.get("consent_ids", ())}),
            "outcome": str(facts.get("outcome", Outcome.ALLOWED)),
            "detail": facts.get("detail") or {},
            "request_id": request.request_id,
            "client_ip": request.client_ip,
            "user_agent": request.user_agent,
        }
    )
    return AuditEntry(**content)


def written(entry: AuditEntry) -> AuditEntry:
    """``entry`` (from ``entry_by``), written by the caller's change in its transaction
    (or now, if nothing wrote it): sealed after that commits, as ``record()``'s are."""
    # No savepoint inside the caller's transaction: an entry that cannot be written
    # must end that transaction, not be rolled back alone while the access goes on.
    with transaction.atomic(savepoint=False):
        if entry.pk is None:
            prepared.insert(entry)
        _to_seal(entry)
    return _noted(entry)


def _object_id(value) -> str:
    return str(value) if value not in (None, "") else ""


def _to_seal(entry: AuditEntry) -> None:
    """Inside ``record()``'s own atomic block, just after ``entry`` was written."""
    if sealer.in_outer_transaction():
        sealer.seal_after_commit()
    else:
        # The last statement of the outermost transaction: take the lock now.
        for sealed in sealer.seal_pending():
            if sealed.pk == entry.pk:
                for name in sealer.SEALED_FIELDS:
                    setattr(entry, name, getattr(sealed, name))


def _noted(entry: AuditEntry) -> AuditEntry:
    if entry.outcome == Outcome.DENIED:
        context.state().denied_entry = (entry.pk, entry.request_id)
    return entry


__all__ = ["SYSTEM", "Actor", "content_of", "entry_by", "record", "record_by", "written"]
