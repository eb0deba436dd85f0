"""Erasure and retention as the referral workflow sees them: the survivor's consents
end, their open referrals are cancelled, and every PII column tied to them is blanked
and shredded with their data key — in one transaction of the data database, the key
store written last (``consent.services.erasure.survivor_shred``).

Order, and why: consents end first, so that each recipient that could see a referral
hears ``consent.revoked`` (the last thing a recipient hears about it, and what makes
its sockets drop the referral); then every status still open is cancelled, so that the
referrer hears ``referral.cancelled``; then the PII goes. A retry after a failure
finishes the erasure, and erasing an erased survivor changes nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from agencies.models import Membership
from audit.models import Action
from audit.units import unit
from consent.models import Survivor
from consent.services import erasure as shredding
from coordination import states
from coordination.models import (
    CaseNote,
    EmergencyAccess,
    IdempotencyRecord,
    RecipientStatus,
    StatusChange,
)
from coordination.services.statuses import cut_uncovered, status_move


def _cancel_open(actor: Membership | None, survivor: Survivor) -> int:
    """Cancel every open recipient status of the survivor's referrals, one ``transition``
    entry per referral; returns how many referrals had one."""
    open_statuses = (
        RecipientStatus.objects.select_related("referral__survivor")
        .filter(referral__survivor=survivor)
        .exclude(status__in=states.FINAL)
        .order_by("referral_id", "agency_id")
    )
    by_referral: dict = {}
    for recipient in open_statuses:
        by_referral.setdefault(recipient.referral, []).append(recipient)
    for referral, recipients in by_referral.items():
        for recipient in recipients:
            status_move(recipient, "cancel", user=actor.user if actor else None)
        shredding.record_about(
            survivor,
            action=Action.TRANSITION,
            actor=actor,
            object_type="referral",
            object_id=referral.pk,
            detail={"action": "cancel", "cause": "erasure", "statuses": [states.CANCELLED]},
        )
    return len(by_referral)


def _blank_referral_pii(survivor: Survivor) -> None:
    """The live rows lose their PII too (their tokens could open no more anyway)."""
    survivor.referrals.update(narrative="")
    CaseNote.objects.filter(referral__survivor=survivor).update(text="")
    StatusChange.objects.filter(recipient_status__referral__survivor=survivor).update(reason="")
    IdempotencyRecord.objects.filter(survivor_id=survivor.pk).update(response_body="")
    EmergencyAccess.objects.filter(referral__survivor=survivor).update(justification="")


@unit
def survivor_erase(*, actor: Membership | None, survivor_id, reason: str) -> Survivor:
    """Erase a survivor's PII: a liaison of the owner agency (others: not found, or
    forbidden), or the system (``actor`` None).

    Ends their consents (``consent_revoke`` entries, ``consent.revoked`` events), cancels
    their open referrals (``transition`` entries, ``referral.cancelled`` events), blanks
    the profile and every narrative, note, status reason and stored response tied to
    them, writes the ``erasure`` entry (reason code only) and destroys their data key.
    Idempotent: erasing again only destroys a key a failure may have left.
    """
    survivor = shredding.survivor_for_erasure(actor=actor, survivor_id=survivor_id)
    return _erase(actor, survivor, reason)


@unit
def survivor_erase_past_retention(*, survivor_id) -> bool:
    """Erase a survivor as the system under the retention period, if they are still
    past it once locked (a referral made meanwhile keeps them); True if erased."""
    survivor = shredding.survivor_for_erasure(actor=None, survivor_id=survivor_id)
    if not past_retention().filter(pk=survivor.pk).exists():
        return False
    _erase(None, survivor, shredding.ErasureReason.RETENTION_PERIOD)
    return True


def _erase(actor: Membership | None, survivor: Survivor, reason: str) -> Survivor:
    if survivor.erased_at is not None:
        shredding.key_destroy_again(actor=actor, survivor=survivor)
        return survivor
    consents_revoked = shredding.consents_end(actor=actor, survivor=survivor)
    cut_uncovered(survivor)
    referrals_cancelled = _cancel_open(actor, survivor)
    _blank_referral_pii(survivor)
    shredding.survivor_shred(
        actor=actor,
        survivor=survivor,
        reason=reason,
        consents_revoked=consents_revoked,
        referrals_cancelled=referrals_cancelled,
    )
    return survivor


def past_retention(*, now: datetime | None = None) -> QuerySet[Survivor]:
    """Survivors not yet erased whose referrals are all closed (every recipient status
    final), the last of them longer ago than ``RETENTION_DAYS``; oldest first."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETENTION_DAYS)
    theirs = RecipientStatus.objects.filter(referral__survivor=OuterRef("pk"))
    return (
        Survivor.objects.filter(erased_at__isnull=True)
        .filter(Exists(theirs))
        .exclude(Exists(theirs.exclude(status__in=states.FINAL)))
        .exclude(Exists(theirs.filter(updated_at__gte=cutoff)))
        .order_by("created_at", "id")
    )
