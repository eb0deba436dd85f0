"""The transition table, checked exhaustively against DESIGN.md's own table."""

import itertools

import pytest

from coordination import states

# (action, from-states, to) exactly as DESIGN.md writes them.
DESIGN_TABLE = {
    "release": ({"awaiting_consent", "consent_revoked"}, "requested"),
    "receive": ({"requested"}, "received"),
    "accept": ({"requested", "received"}, "accepted"),
    "reject": ({"requested", "received"}, "rejected"),
    "start": ({"accepted", "on_hold"}, "in_progress"),
    "hold": ({"in_progress"}, "on_hold"),
    "complete": ({"in_progress"}, "completed"),
    "cancel": (set(states.STATES) - {"completed", "rejected", "cancelled"}, "cancelled"),
    "revoke": ({"requested", "received", "accepted", "in_progress", "on_hold"}, "consent_revoked"),
}


@pytest.mark.parametrize(
    ("action", "current"), list(itertools.product(DESIGN_TABLE, states.STATES))
)
def test_every_action_from_every_state_follows_the_design(action, current):
    sources, target = DESIGN_TABLE[action]
    if current in sources:
        assert states.next_status(action, current) == target
    else:
        with pytest.raises(states.IllegalTransition):
            states.next_status(action, current)


@pytest.mark.parametrize("final", sorted(states.FINAL))
def test_final_states_have_no_way_out(final):
    for action in states.TRANSITIONS:
        with pytest.raises(states.IllegalTransition):
            states.next_status(action, final)


def test_unknown_action_is_illegal():
    with pytest.raises(states.IllegalTransition):
        states.next_status("teleport", "requested")


def test_reasons_and_outcomes_are_required_where_the_design_says():
    needs = {action: t.needs for action, t in states.TRANSITIONS.items() if t.needs}
    assert needs == {
        "reject": "reason",
        "hold": "reason",
        "cancel": "reason",
        "complete": "outcome",
    }
