"""``status_move`` moves a row by one conditional UPDATE when it still holds what the
caller read; when another change got there first, it locks the row, reads it again
and asks the transition table about the status the row holds now — never the stale one.
"""

import pytest
from auditlog.models import LogEntry
from django.db import connection, transaction
from django.db.models.sql import UpdateQuery

from audit.models import AuditEntry
from audit.recorder import entry_by
from coordination import outbox, states
from coordination.models import (
    Event,
    RecipientStatus,
    StatusChange,
    StreamCounter,
    StreamEntry,
)
from coordination.services.statuses import status_move
from tests.factories import ConsentFactory, ReferralFactory

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
    events, entries = Event.objects.count(), AuditEntry.objects.count()
    legal = current in states.TRANSITIONS[action].sources
    # The request's audit entry rides with the move: written once, by the retry.
    entry = entry_by(None, "transition", "referral", recipient.referral_id)
    with transaction.atomic():
        if legal:
            status_move(recipient, action, reason="Because.", carrying=(entry,))
        else:
            with pytest.raises(states.IllegalTransition):
                status_move(recipient, action, reason="Because.", carrying=(entry,))
    stored = RecipientStatus.objects.get(pk=recipient.pk)
    assert AuditEntry.objects.count() == entries + legal
    assert (entry.pk is not None) == legal
    if legal:
        target = states.TRANSITIONS[action].target
        assert (stored.status, stored.version) == (target, 6)
        assert (recipient.status, recipient.version) == (target, 6)
        change = StatusChange.objects.get(recipient_status=recipient)
        assert (change.from_status, change.to_status) == (current, target)
        assert Event.objects.count() == events + 1
        _streams_gap_free()
    else:
        assert (stored.status, stored.version) == (current, 5)
        assert not StatusChange.objects.filter(recipient_status=recipient).exists()
        assert Event.objects.count() == events
        _streams_gap_free()


def _streams_gap_free() -> None:
    """Every agency's stream numbers its entries 1, 2, … with no gap, and where a
    counter is kept it stands at the stream's head."""
    heads = {}
    for agency_id, seq in StreamEntry.objects.order_by("agency_id", "seq").values_list(
        "agency_id", "seq"
    ):
        assert seq == heads.get(agency_id, 0) + 1
        heads[agency_id] = seq
    for counter in StreamCounter.objects.all():
        assert counter.seq == heads.get(counter.agency_id, 0)


@pytest.mark.parametrize("action", sorted(states.TRANSITIONS))
def test_a_move_writes_its_history_row_its_field_diff_and_its_event_once(agencies, action):
    source = sorted(states.TRANSITIONS[action].sources)[0]
    recipient = _recipient(agencies, source)
    with transaction.atomic():
        status_move(recipient, action, reason="Because.")
    (change,) = StatusChange.objects.filter(recipient_status=recipient)
    diffs = LogEntry.objects.get_for_model(StatusChange).filter(object_pk=str(change.pk))
    assert [entry.action for entry in diffs] == [LogEntry.Action.CREATE]
    assert "reason" not in diffs[0].changes_dict  # PII is never tracked
    assert Event.objects.filter(referral=recipient.referral, status=change.to_status).count() == 1
    _streams_gap_free()


@pytest.mark.parametrize("status", ["requested", "accepted"])
def test_a_carried_change_whose_guard_matches_no_row_writes_nothing(agencies, status):
    """``outbox.emit`` with a change whose conditional UPDATE finds the row moved: no
    history row, no field diff, no event, no stream entry, no counter moved."""
    recipient = _recipient(agencies, status)
    # Consented: an agency hears of the change (its counter would move).
    ConsentFactory(survivor=recipient.referral.survivor, recipients=[agencies["shelter"]])
    with transaction.atomic():
        status_move(recipient, "start" if status == "accepted" else "receive")
    recipient = RecipientStatus.objects.select_related("referral__survivor").get(pk=recipient.pk)
    status = recipient.status
    assert StreamEntry.objects.filter(event__referral=recipient.referral).exists()
    before = (
        StatusChange.objects.count(),
        LogEntry.objects.count(),
        Event.objects.count(),
        list(StreamEntry.objects.values_list("agency_id", "seq")),
        list(StreamCounter.objects.values_list("agency_id", "seq")),
    )
    stale = RecipientStatus.objects.filter(pk=recipient.pk, version=recipient.version + 7)
    guard = stale.query.chain(UpdateQuery)
    guard.add_update_values({"status": "cancelled"})
    change = StatusChange(
        recipient_status=recipient, from_status=status, to_status="cancelled", action="cancel"
    )
    with transaction.atomic():
        written = outbox.emit(
            kind="referral.cancelled",
            referral=recipient.referral,
            agency_id=recipient.agency_id,
            status="cancelled",
            carried=outbox.Carried(
                rows=(change,), guard=guard.get_compiler(connection=connection).as_sql()
            ),
        )
    assert written is None
    assert change.pk is None
    assert RecipientStatus.objects.get(pk=recipient.pk).status == status
    assert before == (
        StatusChange.objects.count(),
        LogEntry.objects.count(),
        Event.objects.count(),
        list(StreamEntry.objects.values_list("agency_id", "seq")),
        list(StreamCounter.objects.values_list("agency_id", "seq")),
    )
