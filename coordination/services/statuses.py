"""The one place a recipient status changes, and how consent moves statuses."""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from consent.models import Survivor
from coordination import access, outbox, states
from coordination.models import Event, RecipientStatus, StatusChange


def status_move(
    recipient: RecipientStatus,
    action: str,
    *,
    user=None,
    reason: str = "",
    decided: access.Decision | None = None,
    carrying: tuple = (),
) -> RecipientStatus:
    """Check the transition table, bump the version (and stamp the first acceptance),
    write the history row and the outbox event; runs in the caller's transaction and
    returns ``recipient`` updated. ``decided``: the acting member's decision on the
    referral, which the outbox may reuse for their agency (``outbox.emit``);
    ``carrying``: unsaved rows written with the move (the request's audit entry).

    The row changes only if it still holds the status and version the caller read (one
    conditional UPDATE, which waits for and re-checks a concurrent writer's row lock;
    on PostgreSQL a clause of the event's own statement, with the history row); if it
    no longer does, nothing is written, and it is locked (``select_for_update``) and
    read again first.
    """
    now = timezone.now()
    target = states.next_status(action, recipient.status)
    by = {"user": user, "reason": reason, "decided": decided, "carrying": carrying}
    moved = _moved(recipient, target, action, now, **by)
    if moved is None:
        # Moved by another transaction since the caller read it: lock, read, check again.
        current = RecipientStatus.objects.select_for_update().get(pk=recipient.pk)
        recipient.status, recipient.version = current.status, current.version
        recipient.accepted_at = current.accepted_at
        target = states.next_status(action, recipient.status)
        moved = _moved(recipient, target, action, now, **by)
        if moved is None:  # locked now, it holds what was just read
            raise RuntimeError("a locked recipient status did not hold what was read")
    recipient.status, recipient.version = target, recipient.version + 1
    recipient.updated_at = now
    if target == states.ACCEPTED and recipient.accepted_at is None:
        recipient.accepted_at = now
    return recipient


def _moved(recipient: RecipientStatus, target: str, action: str, now, **by) -> Event | None:
    """Move the row to ``target`` at ``now`` if it still holds what ``recipient`` read, with
    its history row and its event (``outbox.Carried``: one statement where the database
    allows); None, and nothing written, if it no longer holds it."""
    first_acceptance = {}
    if target == states.ACCEPTED:
        first_acceptance["accepted_at"] = Coalesce(F("accepted_at"), Value(now))
    update = RecipientStatus.objects.filter(
        pk=recipient.pk, status=recipient.status, version=recipient.version
    ).query.chain(UpdateQuery)
    update.add_update_values(
        {"status": target, "version": F("version") + 1, "updated_at": now, **first_acceptance}
    )
    compiler = update.get_compiler(connection=connection)
    compiler.pre_sql_setup()
    change = StatusChange(
        at=now,
        recipient_status=recipient,
        from_status=recipient.status,
        to_status=target,
        action=action,
        actor=by["user"],
        reason=by["reason"],
    )
    return outbox.emit(
        kind=Event.kind_for_status(target),
        referral=recipient.referral,
        agency_id=recipient.agency_id,
        status=target,
        decided=by["decided"],
        carried=outbox.Carried(rows=(change, *by["carrying"]), guard=compiler.as_sql()),
    )


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
