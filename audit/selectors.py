"""Reads of the audit trail for compliance officers (API and web pages alike).

Each read is audited where it is selected: ``*_shown`` writes the ``list`` entry for
the page a caller is shown (in the caller's transaction, so the entry commits with the
read), the export and the verification write theirs. Every selector refuses anyone
but a compliance officer with ``PermissionDenied`` (audited by the layer that answers it).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from audit.models import Action, AuditEntry, Disclosure
from audit.recorder import Actor, record
from audit.verify import VerifyResult, verify_chain

COMPLIANCE_OFFICER = "compliance_officer"


def require_compliance_officer(actor: Actor | None) -> Actor:
    """The actor, if a compliance officer; else ``PermissionDenied`` (audited by the
    layer that answers it)."""
    if actor is None or actor.role != COMPLIANCE_OFFICER:
        raise PermissionDenied("Only compliance officers read the audit trail.")
    return actor


def _page_shown(actor: Actor, object_type: str, page, survivor_ref: str = "", **detail) -> list:
    """One ``list`` entry for a page shown to a compliance officer: its size, and
    ``detail``'s particulars (the filters)."""
    require_compliance_officer(actor)
    page = list(page)
    particulars = {"count": len(page), **detail}
    record(
        action=Action.LIST,
        actor=actor,
        object_type=object_type,
        survivor_ref=survivor_ref,
        detail=particulars,
    )
    return page


# --- the trail -------------------------------------------------------------------------


def audit_entries(*, actor: Actor) -> QuerySet[AuditEntry]:
    """The sealed trail, newest first (``-seq``); not audited until shown or exported.
    An entry waiting to be sealed (a second at most) has no place in the chain yet."""
    require_compliance_officer(actor)
    return AuditEntry.objects.filter(seq__isnull=False).order_by("-seq")


def audit_entries_shown(
    *, actor: Actor, page: Iterable[AuditEntry], filters: dict[str, str]
) -> list[AuditEntry]:
    """A page of the trail is shown: one ``list`` entry of ``audit_entry`` with the
    page's size and the filters that selected it."""
    return _page_shown(actor, "audit_entry", page, filters=filters)


@transaction.atomic
def audit_entries_exported(
    *, actor: Actor, entries: QuerySet[AuditEntry], export_format: str, filters: dict[str, str]
) -> QuerySet[AuditEntry]:
    """Every entry matching ``filters``, in chain order (``seq``), to stream: one
    ``export`` entry of ``audit_entry`` with the format and the filters, committed
    before the first row is sent."""
    require_compliance_officer(actor)
    record(
        action=Action.EXPORT,
        actor=actor,
        object_type="audit_entry",
        detail={"format": export_format, "filters": filters},
    )
    return entries.order_by("seq")


@transaction.atomic
def audit_chain_verified(*, actor: Actor) -> VerifyResult:
    """Recompute the chain against the stored signed checkpoints: one ``verify`` entry
    of ``audit_chain`` with the outcome (``ok``, ``first_bad_seq``)."""
    require_compliance_officer(actor)
    result = verify_chain()
    record(
        action=Action.VERIFY,
        actor=actor,
        object_type="audit_chain",
        detail={"ok": result.ok, "first_bad_seq": result.first_bad_seq},
    )
    return result


# --- the disclosure ledger ---------------------------------------------------------------


def disclosure_ledger(*, actor: Actor) -> QuerySet[Disclosure]:
    """Every disclosure of survivor data to another agency, newest first (``-id``):
    when (``at``), to whom (``actor_agency``, ``actor_username``, ``actor_role``), what
    (``object_type``/``object_id``, ``categories``) and under which consents
    (``consent_ids``); ``entry_seq`` points at the audit entry that records it.

    Narrowed to one survivor by ``audit.filters.DisclosureFilter``; not audited until
    shown (``ledger_shown``).
    """
    require_compliance_officer(actor)
    return Disclosure.objects.order_by("-id")


def ledger_shown(
    *, actor: Actor, survivor_ref: str, page: Iterable[Disclosure]
) -> list[Disclosure]:
    """A page of one survivor's ledger is shown: one ``list`` entry of ``disclosure``
    naming the survivor's ref and the page's size."""
    return _page_shown(actor, "disclosure", page, survivor_ref=survivor_ref)


def disclosures_to_others(*, survivor_ref: str, owner_agency_id: int) -> QuerySet[Disclosure]:
    """The ledger lines of one survivor whose data reached an agency other than its
    owner, oldest first (``id``): the survivor's own disclosure report. The caller has
    checked that the reader is of the owner agency; not audited until shown."""
    return (
        Disclosure.objects.filter(survivor_ref=survivor_ref)
        .exclude(actor_agency_id=owner_agency_id)
        .order_by("id")
    )
