"""Consent as the referral workflow sees it: recording, revoking and expiring consent,
each with its effect on the referrals it covers, in one transaction.

``consent.services`` writes the consent records themselves (``consent_create``,
``revocation_create``); these services orchestrate them with the statuses they move.
"""

from __future__ import annotations

from typing import Unpack

from agencies.errors import Erased, InvalidInput, NotFound
from agencies.models import Membership
from audit.models import Action
from audit.recorder import SYSTEM, record
from audit.units import unit
from consent import services as consent_records
from consent.models import Survivor
from coordination import states
from coordination.services.statuses import cut_uncovered, release_covered


def consent_record(*, actor: Membership, survivor_id, recipients, categories, **fields):
    """Record consent and release the referrals it covers, in one transaction."""
    (consent,) = consent_record_many(
        actor=actor, survivor_id=survivor_id, grants=[(recipients, categories)], **fields
    )
    return consent


@unit
def consent_record_many(*, actor: Membership, survivor_id, grants: list[tuple], **fields):
    """Record one consent per ``(recipients, categories)`` grant, all sharing the other
    elements, and release what they cover, in one transaction: the survivor's choices
    per recipient agency and category are recorded together or not at all."""
    survivor = Survivor.objects.select_for_update().filter(pk=survivor_id).first()
    if survivor is None or survivor.owner_agency_id != actor.agency_id:
        raise NotFound
    if survivor.erased_at is not None:
        raise Erased
    if not grants:
        raise InvalidInput(fields={"recipients": ["Name at least one recipient agency."]})
    consents = [
        consent_records.consent_create(
            actor=actor, survivor=survivor, recipients=recipients, categories=categories, **fields
        )
        for recipients, categories in grants
    ]
    release_covered(survivor)
    return consents


@unit
def consent_revoke(
    *, actor: Membership, consent_id, **revocation: Unpack[consent_records.Revocation]
):
    """Revoke consent; access ends now, and uncovered recipients move to
    ``consent_revoked`` with a ``consent.revoked`` event. With ``no_emergency_access``
    the survivor's emergency accesses end now too, and none can be opened again."""
    consent = consent_records.consent_for_update(actor=actor, consent_id=consent_id)
    consent_records.revocation_create(actor=actor, consent=consent, **revocation)
    cut_uncovered(consent.survivor)
    return consent


@unit
def consent_expire_due() -> int:
    """Apply expiries as state changes (``manage.py expire_consents``). Reads already
    deny expired consents; this makes statuses and events say so. Returns moves made."""
    survivors = Survivor.objects.filter(
        referrals__recipients__status__in=states.TRANSITIONS["revoke"].sources
    ).distinct()
    moved = 0
    for survivor in survivors:
        cut = cut_uncovered(survivor)
        for recipient in cut:
            record(
                action=Action.CONSENT_EXPIRE,
                actor=SYSTEM,
                object_type="referral",
                object_id=recipient.referral_id,
                survivor_ref=survivor.ref,
                detail={"recipient": recipient.agency_id},
            )
        moved += len(cut)
    return moved
