"""Live events through the rule: may this agency (this member) be told of an outbox
event now, and which agencies could ever be."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack

from consent.categories import Category
from coordination.access_rule import (
    RECIPIENT,
    REFERRER,
    SIDE_OF_ROLE,
    Asker,
    BackRelease,
    Release,
    decide,
    status_seen_by_referrer,
)
from coordination.models import Event


def event_deliverable(
    agency_id: int,
    event,
    release_: Release,
    back: dict[int, BackRelease] | None,
    *,
    recipient_side: bool = True,
) -> bool:
    """May agency A be told about this outbox event *now*?

    ``event`` carries ``kind``, ``agency_id`` (the recipient the change concerns, or a
    note's author agency) and ``status``. ``release_`` is A's release of the event's
    referral now; ``back`` its back-releases (needed only for the referrer).

    * A recipient hears about its own status and notes while it may see the referral,
      plus the referrer's notes under ``narrative``; and always its own
      ``consent.revoked`` — the last thing it hears about the referral.
    * The referrer hears every recipient's status it may see unmasked (see
      ``status_seen_by_referrer``: a masked change is not announced at all) and a
      recipient's notes under ``case_notes``. These are ``Decision.notes_shown`` and
      ``Decision.recipients_shown``, applied to one event.

    ``recipient_side`` is false for a member whose role does not handle incoming
    referrals (a liaison): they hear nothing of the agency's incoming ones.
    """
    if release_.relation == REFERRER:
        if event.kind in Event.EMERGENCY_KINDS:
            return False  # told to the member's agency and compliance, not the referrer
        about = (back or {}).get(event.agency_id)
        if event.kind == Event.NOTE_ADDED:
            return event.agency_id == agency_id or (about is not None and about.case_notes)
        return status_seen_by_referrer(event.status, about) == event.status
    if event.kind == Event.CONSENT_REVOKED and event.agency_id == agency_id:
        return recipient_side
    if release_.relation != RECIPIENT:
        return False
    if event.agency_id == agency_id:
        return True
    return (
        event.kind == Event.NOTE_ADDED
        and event.agency_id == event.referral.referring_agency_id
        and Category.NARRATIVE in release_.categories
    )


def event_audience(event, referring_agency_id: int) -> frozenset[int] | None:
    """Every agency that could ever receive this event, or ``None`` for "any
    recipient of the referral" (a referrer's note). Lets a socket skip, without a
    query, an event that ``event_deliverable`` would refuse it anyway."""
    if event.kind == Event.NOTE_ADDED and event.agency_id == referring_agency_id:
        return None
    if event.kind in Event.EMERGENCY_KINDS:
        return frozenset({event.agency_id})
    return frozenset({referring_agency_id, event.agency_id})


def deliverable_events(agency_id: int, events: Iterable, **asker: Unpack[Asker]) -> list:
    """The events (in the order given) agency A (a member in ``role``; with
    ``member_id``, that member, their emergency accesses included) may receive now,
    deciding a whole batch in a constant number of queries. Each event's ``referral``
    must carry its recipients (prefetched) — see ``releases``."""
    events = list(events)
    referrals = {event.referral_id: event.referral for event in events}
    decision = decide(agency_id, referrals.values(), **asker)
    role = asker.get("role")
    recipient_side = role is None or SIDE_OF_ROLE.get(role) == RECIPIENT
    return [
        event
        for event in events
        if event_deliverable(
            agency_id,
            event,
            decision.releases[event.referral_id],
            decision.backs.get(event.referral_id),
            recipient_side=recipient_side,
        )
    ]
