"""``record()``: the one way an audit entry is written.

Call it inside the transaction of the access it records. It locks the chain head, so
concurrent appends serialise and the chain never forks; if the entry cannot be
written the exception propagates and the caller's transaction (and the access it
was about to make) rolls back — fail closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import context, ledger
from audit.chain import GENESIS_HASH, content_of, entry_hash
from audit.models import AuditEntry, ChainHead, Outcome


@dataclass(frozen=True)
class Actor:
    """Who acted: a user acting for one agency in one role (or nobody, for the system)."""

    user_id: int | None = None
    username: str = ""
    agency_id: int | None = None
    agency: str = ""
    role: str = ""


SYSTEM = Actor(username="system")


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
    """Append one entry to the chain and return it.

    ``detail`` must hold codes and states only — never a free-text value a user typed.
    """
    actor = actor or Actor()
    request = context.current()
    with transaction.atomic():
        head = _locked_head()
        content = {
            "seq": head.seq + 1,
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
        digest = entry_hash(head.hash, content)
        entry = AuditEntry.objects.create(prev_hash=head.hash, hash=digest, **content)
        head.seq, head.hash = entry.seq, digest
        head.save(update_fields=["seq", "hash"])
        ledger.index_disclosures(entry)
    if entry.outcome == Outcome.DENIED:
        context.state().denied_entry = (entry.seq, entry.hash)
    return entry


def _locked_head() -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # Normally made by the migration; a flushed test database lacks it.
        ChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
        head = ChainHead.objects.select_for_update().get(pk=1)
    return head


__all__ = ["SYSTEM", "Actor", "content_of", "record"]
