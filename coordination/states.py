"""The recipient-status state machine (DESIGN.md), in plain Python (no Django).

``next_status(action, current)`` answers the transition table; the one service that
changes a status (``coordination.services.statuses.status_move``) asks it and nothing
else.
"""

from __future__ import annotations

from dataclasses import dataclass

from agencies.errors import Conflict

AWAITING_CONSENT = "awaiting_consent"
REQUESTED = "requested"
RECEIVED = "received"
ACCEPTED = "accepted"
REJECTED = "rejected"
IN_PROGRESS = "in_progress"
ON_HOLD = "on_hold"
COMPLETED = "completed"
CANCELLED = "cancelled"
CONSENT_REVOKED = "consent_revoked"

STATES = (
    AWAITING_CONSENT,
    REQUESTED,
    RECEIVED,
    ACCEPTED,
    REJECTED,
    IN_PROGRESS,
    ON_HOLD,
    COMPLETED,
    CANCELLED,
    CONSENT_REVOKED,
)
FINAL = frozenset({COMPLETED, REJECTED, CANCELLED})

# Who takes an action: the recipient's caseworker, the referrer's liaison, or the system.
CASEWORKER = "caseworker"
REFERRER = "referrer"
SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    action: str
    by: str
    sources: frozenset[str]
    target: str
    needs: str | None = None  # "reason" or "outcome"


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("release", SYSTEM, frozenset({AWAITING_CONSENT, CONSENT_REVOKED}), REQUESTED),
        Transition("receive", SYSTEM, frozenset({REQUESTED}), RECEIVED),
        Transition("accept", CASEWORKER, frozenset({REQUESTED, RECEIVED}), ACCEPTED),
        Transition("reject", CASEWORKER, frozenset({REQUESTED, RECEIVED}), REJECTED, "reason"),
        Transition("start", CASEWORKER, frozenset({ACCEPTED, ON_HOLD}), IN_PROGRESS),
        Transition("hold", CASEWORKER, frozenset({IN_PROGRESS}), ON_HOLD, "reason"),
        Transition("complete", CASEWORKER, frozenset({IN_PROGRESS}), COMPLETED, "outcome"),
        Transition("cancel", REFERRER, frozenset(STATES) - FINAL, CANCELLED, "reason"),
        Transition(
            "revoke",
            SYSTEM,
            frozenset({REQUESTED, RECEIVED, ACCEPTED, IN_PROGRESS, ON_HOLD}),
            CONSENT_REVOKED,
        ),
    )
}

USER_ACTIONS = tuple(a for a, t in TRANSITIONS.items() if t.by != SYSTEM)


class IllegalTransition(Conflict):
    """Refused with 409: the action is not allowed from the current status."""

    code = "illegal_transition"


def next_status(action: str, current: str) -> str:
    """The target of ``action`` from ``current``, or ``IllegalTransition``."""
    transition = TRANSITIONS.get(action)
    if transition is None or current not in transition.sources:
        raise IllegalTransition(f"Cannot {action} a referral whose status is {current}.")
    return transition.target
