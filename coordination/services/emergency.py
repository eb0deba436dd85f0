"""Emergency access (break-glass): a caseworker of a recipient agency opens categories
no consent released, to themselves alone, for ``EMERGENCY_ACCESS_HOURS``; compliance
officers review each use. Each is one durable transaction: the change, its audit entry
and its outbox event. The access rule reads the accesses (``coordination.emergency``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from agencies.errors import (
    AlreadyReviewed,
    EmergencyAccessDisabled,
    EmergencyAccessRefused,
    Forbidden,
    NotFound,
)
from agencies.models import Membership, Role
from audit.models import Action
from audit.recorder import record
from audit.units import unit
from coordination import emergency, outbox
from coordination.models import EmergencyAccess, Event, RecipientStatus, Referral, ReviewStatus


@unit
def emergency_access_open(
    *, actor: Membership, referral_id, reason_code: str, justification: str, categories: list[str]
) -> EmergencyAccess:
    """A caseworker of one of the referral's recipient agencies opens ``categories`` of
    it to themselves until ``EMERGENCY_ACCESS_HOURS`` from now, whatever consent says.

    Refused while the network has it switched off (403 ``emergency_access_disabled``),
    for another role (403), for a referral the actor's agency is not a recipient of
    (404, as for a missing one), and for a survivor who refused emergency access (403
    ``emergency_access_refused``). The face has checked the input
    (``coordination.inputs.EMERGENCY_ACCESS``). Audits ``emergency_access`` (reason,
    categories, expiry — never the justification) with the actor's user and agency, for
    the access alerts; emits ``emergency.opened`` to the actor's agency.
    """
    if not emergency.enabled():
        raise EmergencyAccessDisabled
    if actor.role != Role.CASEWORKER:
        raise Forbidden("Only a caseworker of a recipient agency opens emergency access.")
    referral = Referral.objects.select_related("survivor").filter(pk=referral_id).first()
    if referral is None or not _is_recipient(referral, actor.agency_id):
        raise NotFound
    if emergency.barred(referral.survivor_id).exists():
        raise EmergencyAccessRefused
    opened_at = timezone.now()
    opened = EmergencyAccess.objects.create(
        referral=referral,
        member=actor,
        agency_id=actor.agency_id,
        categories=sorted(set(categories)),
        reason_code=reason_code,
        justification=justification,
        opened_at=opened_at,
        expires_at=opened_at + timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
    )
    detail = {
        "referral": str(referral.pk),
        "reason_code": reason_code,
        "categories": opened.categories,
        "expires_at": opened.expires_at.isoformat(),
    }
    _on_the_record(Action.EMERGENCY_ACCESS, Event.EMERGENCY_OPENED, actor, opened, detail)
    return opened


def _on_the_record(action: str, kind: str, actor: Membership, found, detail: dict) -> None:
    """The audit entry (who, the survivor's ``ref``, codes only) and the outbox event to
    the member's agency of one step in an emergency access's life."""
    record(
        action=action,
        actor=actor.as_actor(),
        object_type="emergency_access",
        object_id=found.pk,
        survivor_ref=found.referral.survivor.ref,
        detail=detail,
    )
    outbox.emit(kind=kind, referral=found.referral, agency_id=found.agency_id)


def _is_recipient(referral: Referral, agency_id: int) -> bool:
    return (
        referral.referring_agency_id != agency_id
        and RecipientStatus.objects.filter(referral=referral, agency_id=agency_id).exists()
    )


@unit
def emergency_access_review(
    *, actor: Membership, access_id, decision: str, note: str
) -> EmergencyAccess:
    """A compliance officer reviews one use: ``pending`` becomes ``justified`` or
    ``unjustified``, once (again: 409 ``already_reviewed``). The note is encrypted and
    never audited. Audits ``emergency_review``; emits ``emergency.reviewed`` to the
    member's agency."""
    if actor.role != Role.COMPLIANCE_OFFICER:
        raise Forbidden("Only compliance officers review emergency access.")
    found = (
        EmergencyAccess.objects.select_for_update()
        .select_related("referral__survivor")
        .filter(pk=access_id)
        .first()
    )
    if found is None:
        raise NotFound
    if found.review_status != ReviewStatus.PENDING:
        raise AlreadyReviewed
    found.review_status = decision
    found.review_note = note
    found.reviewed_by = actor.user
    found.reviewed_at = timezone.now()
    found.save(update_fields=["review_status", "review_note", "reviewed_by", "reviewed_at"])
    detail = {"decision": decision, "agency": found.agency_id}
    _on_the_record(Action.EMERGENCY_REVIEW, Event.EMERGENCY_REVIEWED, actor, found, detail)
    return found
