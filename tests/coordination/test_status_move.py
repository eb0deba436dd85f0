"""``status_move`` moves a row by one conditional UPDATE when it still holds what the
caller read; when another change got there first, it locks the row, reads it again
and asks the transition table about the status the row holds now — never the stale one.
"""

import pytest
from django.db import transaction

from coordination import states
from coordination.models import Event, RecipientStatus, StatusChange
from coordination.services.statuses import status_move
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

# Every (status read, status the row holds by then) pair a concurrent move can leave.
STALE = [
    (read, action, current)
    for read in states.STATES
    for action, transition in states.TRANSITIONS.items()
    if read in transition.sources
    for current in states.STATES
    if current != read
]


def _recipient(agencies, status: str) -> RecipientStatus:
    referral = ReferralFactory(to=[agencies["shelter"]])
    recipient = RecipientStatus.objects.select_related("referral__survivor").get(referral=referral)
    RecipientStatus.objects.filter(pk=recipient.pk).update(status=status)
    recipient.refresh_from_db()
    return recipient


@pytest.mark.parametrize("action", sorted(states.TRANSITIONS))
def test_an_unchanged_row_moves_by_the_table_and_bumps_its_version(agencies, action):
    source = sorted(states.TRANSITIONS[action].sources)[0]
    recipient = _recipient(agencies, source)
    with transaction.atomic():
        moved = status_move(recipient, action, reason="Because.")
    stored = RecipientStatus.objects.get(pk=recipient.pk)
    assert moved is recipient
    assert (stored.status, stored.version) == (states.TRANSITIONS[action].target, 2)
    assert (moved.status, moved.version, moved.updated_at) == (
        stored.status,
        stored.version,
        stored.updated_at,
    )
    change = StatusChange.objects.get(recipient_status=recipient)
    assert (change.from_status, change.to_status) == (source, stored.status)


@pytest.mark.parametrize(("read", "action", "current"), STALE)
def test_a_row_changed_since_it_was_read_is_judged_by_its_status_now(
    agencies, read, action, current
):
    recipient = _recipient(agencies, read)
    # Another transaction moved the row after the caller read it.
    RecipientStatus.objects.filter(pk=recipient.pk).update(status=current, version=5)
    events = Event.objects.count()
    legal = current in states.TRANSITIONS[action].sources
    with transaction.atomic():
        if legal:
            status_move(recipient, action, reason="Because.")
        else:
            with pytest.raises(states.IllegalTransition):
                status_move(recipient, action, reason="Because.")
    stored = RecipientStatus.objects.get(pk=recipient.pk)
    if legal:
        target = states.TRANSITIONS[action].target
        assert (stored.status, stored.version) == (target, 6)
        assert (recipient.status, recipient.version) == (target, 6)
        change = StatusChange.objects.get(recipient_status=recipient)
        assert (change.from_status, change.to_status) == (current, target)
        assert Event.objects.count() == events + 1
    else:
        assert (stored.status, stored.version) == (current, 5)
        assert not StatusChange.objects.filter(recipient_status=recipient).exists()
        assert Event.objects.count() == events
