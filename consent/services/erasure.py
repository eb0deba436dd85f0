"""Erasure of a survivor's PII by crypto-shredding (DESIGN.md, The survivor's rights).

The referral workflow's ``coordination.services.erasure.survivor_erase`` runs these in
one transaction of the data database, with the referrals it cancels; the key store is
written last, just before that transaction commits (``survivor_shred``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from agencies.errors import Forbidden, NotFound
from agencies.models import Membership, Role
from audit.models import Action
from audit.recorder import SYSTEM, record
from consent import data_keys
from consent.categories import SURVIVOR_CATEGORIES, SURVIVOR_PII_FIELDS, Category
from consent.models import ConsentRevocation, RevocationChannel, Survivor
from consent.services.records import revocation_create


class ErasureReason(models.TextChoices):
    """Why a survivor's data was erased: a code, never free text (it goes in the audit
    trail, which keeps no PII, and a free-text reason could hold some)."""

    SURVIVOR_REQUEST = "survivor_request"
    RECORDED_IN_ERROR = "recorded_in_error"
    LEGAL_OBLIGATION = "legal_obligation"
    # Only the system gives this one (``manage.py apply_retention``).
    RETENTION_PERIOD = "retention_period"


# The reasons a member may give.
MEMBER_REASONS = tuple(r for r in ErasureReason.values if r != ErasureReason.RETENTION_PERIOD)


def record_about(
    survivor: Survivor,
    *,
    action: str,
    actor: Membership | None,
    object_type: str,
    object_id,
    **rest,
) -> None:
    """One audit entry of an erasure step about ``survivor``, by the member or the system."""
    record(
        action=action,
        actor=actor.as_actor() if actor else SYSTEM,
        object_type=object_type,
        object_id=object_id,
        survivor_ref=survivor.ref,
        **rest,
    )


def survivor_for_erasure(*, actor: Membership | None, survivor_id) -> Survivor:
    """The survivor, locked: to a liaison of the owner agency (others: not found, or
    forbidden within the agency), or to the system (``actor`` None)."""
    survivor = Survivor.objects.select_for_update().filter(pk=survivor_id).first()
    if survivor is None or (actor is not None and survivor.owner_agency_id != actor.agency_id):
        raise NotFound
    if actor is not None and actor.role != Role.LIAISON:
        raise Forbidden("Only a liaison of the survivor's agency erases their data.")
    return survivor


def consents_end(*, actor: Membership | None, survivor: Survivor) -> int:
    """Revoke each of the survivor's consents not yet revoked (channel ``erasure``, no
    reason text), each with its ``consent_revoke`` entry; returns how many."""
    open_consents = survivor.consents.select_for_update(of=("self",)).filter(
        revocation__isnull=True
    )
    ended = 0
    for consent in open_consents.order_by("recorded_at", "id"):
        consent.survivor = survivor
        revocation_create(
            actor=actor, consent=consent, reason="", channel=RevocationChannel.ERASURE
        )
        ended += 1
    # Reasons given earlier are the survivor's words: shredded with the rest.
    ConsentRevocation.objects.filter(consent__survivor=survivor).update(reason="")
    return ended


def survivor_shred(*, actor: Membership | None, survivor: Survivor, reason: str, **counts) -> None:
    """Blank the profile's PII, mark it erased, write the ``erasure`` entry (the reason
    code and ``counts``, nothing else) and, last, destroy the survivor's data key.

    The key goes last, inside the caller's transaction, so that the answer "erased"
    is given only once both stores agree: if destroying the key fails, nothing of the
    erasure commits; if the data commit fails after it, the PII is already unreadable
    everywhere and a retry completes the record (``coordination.services.erasure``).
    """
    for name in SURVIVOR_PII_FIELDS:
        setattr(survivor, name, "")
    survivor.erased_at = timezone.now()
    survivor.version += 1
    survivor.save(update_fields=[*SURVIVOR_PII_FIELDS, "erased_at", "version", "updated_at"])
    _erasure_entry(
        survivor,
        actor,
        categories=sorted({*SURVIVOR_CATEGORIES, Category.NARRATIVE}),
        detail={"reason": reason, **counts},
    )
    data_keys.destroy(survivor.pk)


def key_destroy_again(*, actor: Membership | None, survivor: Survivor) -> None:
    """A retry of a finished erasure: destroy the key if a failure left it (audited
    then as ``erasure`` with ``retry``); otherwise nothing changes."""
    if data_keys.destroy(survivor.pk):
        _erasure_entry(survivor, actor, detail={"retry": True})


def _erasure_entry(survivor: Survivor, actor: Membership | None, **rest) -> None:
    record_about(
        survivor,
        action=Action.ERASURE,
        actor=actor,
        object_type="survivor",
        object_id=survivor.pk,
        **rest,
    )
