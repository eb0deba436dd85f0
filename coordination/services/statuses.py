"""The one place a recipient status changes, and how consent moves statuses."""

from __future__ import annotations

from consent.models import Survivor
from coordination import access, outbox, states
from coordination.models import Event, RecipientStatus, StatusChange


def status_move(
    recipient: RecipientStatus, action: str, *, user=None, reason: str = ""
) -> RecipientStatus:
    """Lock the row, check the transition table, bump the version (and stamp the first
    acceptance), write the history row and the outbox event; runs in the caller's
    transaction."""
    locked = RecipientStatus.objects.select_for_update().get(pk=recipient.pk)
    target = states.next_status(action, locked.status)
    change = StatusChange.objects.create(
        recipient_status=locked,
        from_status=locked.status,
        to_status=target,
        action=action,
        actor=user,
        reason=reason,
    )
    locked.status = target
    locked.version += 1
    if target == states.ACCEPTED and locked.accepted_at is None:
        locked.accepted_at = change.at
    locked.save(update_fields=["status", "version", "updated_at", "accepted_at"])
    outbox.emit(
        kind=Event.kind_for_status(target),
        referral=recipient.referral,
        agency_id=locked.agency_id,
        status=target,
    )
    return locked


def _follow_consent(survivor: Survivor, action: str, *, when_visible: bool):
    """Apply the system ``action`` to every recipient of the survivor's referrals whose
    visibility under the access rule is now ``when_visible``."""
    moved = []
    candidates = RecipientStatus.objects.select_related("referral__survivor").filter(
        referral__survivor=survivor, status__in=states.TRANSITIONS[action].sources
    )
    for recipient in candidates:
        if access.release(recipient.agency_id, recipient.referral).visible == when_visible:
            moved.append(status_move(recipient, action))
    return moved


def release_covered(survivor: Survivor) -> list[RecipientStatus]:
    """Move every recipient now covered by an active consent to ``requested``."""
    return _follow_consent(survivor, "release", when_visible=True)


def cut_uncovered(survivor: Survivor) -> list[RecipientStatus]:
    """Move every recipient no longer covered by any active consent to ``consent_revoked``."""
    return _follow_consent(survivor, "revoke", when_visible=False)
