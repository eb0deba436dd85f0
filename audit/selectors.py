"""Reads of the audit trail for compliance officers (API and web pages alike)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from audit.models import Action, Disclosure
from audit.recorder import Actor, record

COMPLIANCE_OFFICER = "compliance_officer"


def require_compliance_officer(actor: Actor | None) -> Actor:
    """The actor, if a compliance officer; else ``PermissionDenied`` (audited by the
    layer that answers it)."""
    if actor is None or actor.role != COMPLIANCE_OFFICER:
        raise PermissionDenied("Only compliance officers read the audit trail.")
    return actor


def disclosure_ledger(
    *,
    actor: Actor,
    survivor_ref: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Disclosure]:
    """Every disclosure of one survivor's data to another agency, newest first:
    when (``at``), to whom (``actor_agency``, ``actor_username``, ``actor_role``),
    what (``object_type``/``object_id``, ``categories``) and under which consents
    (``consent_ids``); ``entry_seq`` points at the audit entry that records it.

    Compliance officers only (``PermissionDenied`` otherwise). Lazy: the caller
    pages it and then calls ``ledger_read_record`` in the same transaction.
    """
    require_compliance_officer(actor)
    lines = Disclosure.objects.filter(survivor_ref=survivor_ref)
    if since is not None:
        lines = lines.filter(at__gte=since)
    if until is not None:
        lines = lines.filter(at__lt=until)
    return lines.order_by("-id")


@transaction.atomic
def ledger_read_record(*, actor: Actor, survivor_ref: str, count: int) -> None:
    """Audit a read of one page of a survivor's ledger (``list`` of ``disclosure``)."""
    record(
        action=Action.LIST,
        actor=actor,
        object_type="disclosure",
        survivor_ref=survivor_ref,
        detail={"count": count},
    )
