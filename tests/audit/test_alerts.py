"""The access-alert rules (``audit.alert_watch``): each fires at its threshold and stays
silent below it, once per rule, member and window; each alert is audited and emailed
without PII; the count is incremental (each sealed entry counted once)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit import alert_watch
from audit.models import (
    Action,
    Alert,
    AlertRule,
    AlertTally,
    AlertWatch,
    AuditEntry,
    Outcome,
)
from audit.recorder import record
from tests.factories import AgencyFactory, MemberFactory

pytestmark = pytest.mark.django_db

# 10:05 UTC on a weekday: inside 09:00-17:00 UTC, outside it in Los Angeles (02:05).
MORNING = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)


def ref(n: int) -> str:
    return f"S-{n:08d}"


def read(member, survivor: int | None = None, *, action=Action.VIEW):
    record(
        action=action,
        actor=member.as_actor(),
        object_type="referral",
        object_id=str(survivor or 0),
        survivor_ref=ref(survivor) if survivor is not None else "",
    )


def refused(member):
    record(
        action=Action.DENIED,
        actor=member.as_actor(),
        outcome=Outcome.DENIED,
        detail={"code": "not_found", "status": 404},
    )


def emergency(member, survivor: int):
    record(
        action=Action.EMERGENCY_ACCESS,
        actor=member.as_actor(),
        object_type="referral",
        object_id="1",
        survivor_ref=ref(survivor),
        categories=["identity"],
    )


def alerts_of(member, rule):
    return list(Alert.objects.filter(actor_user_id=member.user_id, rule=rule))


# rule -> (the entries of n steps, the settings' threshold at which it fires)
def _distinct_reads(member, n):
    for k in range(n):
        read(member, k + 1)
        read(member, k + 1)  # the same survivor again: not one more


def _refusals(member, n):
    for _ in range(n):
        refused(member)


def _off_hours_reads(member, n):
    member.agency.hours_start, member.agency.hours_end = time(9), time(17)
    member.agency.timezone = "America/Los_Angeles"
    member.agency.save()
    for k in range(n):
        read(member, k + 1)


RULES = {
    AlertRule.SURVIVORS_PER_HOUR: (_distinct_reads, 21),  # more than 20
    AlertRule.REFUSALS_PER_HOUR: (_refusals, 5),
    AlertRule.OUTSIDE_HOURS: (_off_hours_reads, 1),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_stays_silent_below_its_threshold(rule, members):
    steps, threshold = RULES[rule]
    with time_machine.travel(MORNING, tick=False):
        steps(members["caseworker"], threshold - 1)
    assert alerts_of(members["caseworker"], rule) == []


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("beyond", [0, 1, 7])
def test_each_rule_fires_once_at_its_threshold(rule, beyond, members):
    steps, threshold = RULES[rule]
    with time_machine.travel(MORNING, tick=False):
        steps(members["caseworker"], threshold + beyond)
    (alert,) = alerts_of(members["caseworker"], rule)
    assert (alert.count, alert.threshold) == (threshold, threshold)
    assert alert.window_start == MORNING.replace(minute=0)
    assert alert.window_end == alert.window_start + timedelta(hours=1)
    assert alert.actor_agency == members["caseworker"].agency.slug
    tally = AlertTally.objects.get(rule=rule, actor_user_id=members["caseworker"].user_id)
    assert tally.count == threshold + beyond
    # Nobody else is alerted.
    assert Alert.objects.exclude(actor_user_id=members["caseworker"].user_id).count() == 0


@pytest.mark.parametrize(
    ("setting", "value", "rule", "fires_at"),
    [
        ("ALERT_SURVIVORS_PER_HOUR", 2, AlertRule.SURVIVORS_PER_HOUR, 3),
        ("ALERT_REFUSALS_PER_HOUR", 2, AlertRule.REFUSALS_PER_HOUR, 2),
        ("ALERT_OUTSIDE_HOURS_READS", 3, AlertRule.OUTSIDE_HOURS, 3),
    ],
)
def test_thresholds_come_from_settings(setting, value, rule, fires_at, members, settings):
    setattr(settings, setting, value)
    steps, _ = RULES[rule]
    with time_machine.travel(MORNING, tick=False):
        steps(members["caseworker"], fires_at - 1)
        assert alerts_of(members["caseworker"], rule) == []
        steps(members["legal_caseworker"], fires_at)
    assert len(alerts_of(members["legal_caseworker"], rule)) == 1


@pytest.mark.parametrize("rule", list(RULES))
def test_a_threshold_of_zero_turns_the_rule_off(rule, members, settings):
    settings.ALERT_SURVIVORS_PER_HOUR = 0
    settings.ALERT_REFUSALS_PER_HOUR = 0
    settings.ALERT_OUTSIDE_HOURS_READS = 0
    steps, threshold = RULES[rule]
    with time_machine.travel(MORNING, tick=False):
        steps(members["caseworker"], threshold + 3)
    assert Alert.objects.count() == 0


def test_a_new_hour_is_a_new_window(members):
    member = members["caseworker"]
    with time_machine.travel(MORNING, tick=False):
        _refusals(member, 5)
    with time_machine.travel(MORNING + timedelta(minutes=50), tick=False):  # 10:55: same hour
        _refusals(member, 5)
    assert len(alerts_of(member, AlertRule.REFUSALS_PER_HOUR)) == 1
    with time_machine.travel(MORNING + timedelta(hours=1), tick=False):  # 11:05
        _refusals(member, 4)
        assert len(alerts_of(member, AlertRule.REFUSALS_PER_HOUR)) == 1
        refused(member)
    assert len(alerts_of(member, AlertRule.REFUSALS_PER_HOUR)) == 2


def test_list_pages_and_refused_reads_do_not_count_as_opening_survivors(members):
    member = members["caseworker"]
    with time_machine.travel(MORNING, tick=False):
        for k in range(25):
            record(
                action=Action.LIST,
                actor=member.as_actor(),
                object_type="referral",
                detail={"items": [{"ref": ref(k), "referral": "1"}]},
            )
            record(
                action=Action.DENIED,
                actor=member.as_actor(),
                outcome=Outcome.DENIED,
                survivor_ref=ref(100 + k),
            )
    assert alerts_of(member, AlertRule.SURVIVORS_PER_HOUR) == []


@pytest.mark.parametrize(
    ("start", "end", "zone", "moment", "outside"),
    [
        (time(9), time(17), "UTC", MORNING, False),
        (time(9), time(17), "America/Los_Angeles", MORNING, True),  # 02:05 there
        (time(9), time(10, 5), "UTC", MORNING, True),  # the end is not inside
        (time(10, 5), time(11), "UTC", MORNING, False),  # the start is
        (time(22), time(6), "UTC", MORNING, True),  # a night shift, read by day
        (time(22), time(6), "UTC", MORNING.replace(hour=3), False),
        (time(18), time(23), "Asia/Tokyo", MORNING, False),  # 19:05 there
    ],
)
def test_reads_outside_the_agencys_hours(start, end, zone, moment, outside, members):
    member = members["caseworker"]
    agency = member.agency
    agency.hours_start, agency.hours_end, agency.timezone = start, end, zone
    agency.save()
    with time_machine.travel(moment, tick=False):
        read(member, 1)
    assert len(alerts_of(member, AlertRule.OUTSIDE_HOURS)) == (1 if outside else 0)


def test_an_agency_without_hours_has_the_rule_off(members):
    member = members["caseworker"]
    with time_machine.travel(MORNING.replace(hour=3), tick=False):
        for k in range(5):
            read(member, k)
    assert alerts_of(member, AlertRule.OUTSIDE_HOURS) == []


def test_every_emergency_access_raises_an_alert(members):
    member = members["caseworker"]
    with time_machine.travel(MORNING, tick=False):
        emergency(member, 1)
    with time_machine.travel(MORNING + timedelta(minutes=3), tick=False):
        emergency(member, 2)
    alerts = alerts_of(member, AlertRule.EMERGENCY_ACCESS)
    assert [alert.count for alert in alerts] == [1, 1]


def test_emergency_alerts_can_be_switched_off(members, settings):
    settings.ALERT_EMERGENCY_ACCESS = False
    emergency(members["caseworker"], 1)
    assert Alert.objects.count() == 0


def test_raising_an_alert_is_audited_without_pii(members):
    member = members["caseworker"]
    with time_machine.travel(MORNING, tick=False):
        _refusals(member, 5)
    alert = Alert.objects.get()
    entry = AuditEntry.objects.get(action=Action.ALERT_RAISE)
    assert (entry.object_type, entry.object_id) == ("alert", str(alert.pk))
    assert entry.actor_username == "system"
    # Not attributed to the request whose commit ran the sealing that raised it.
    assert (entry.request_id, entry.client_ip, entry.user_agent) == ("", None, "")
    assert entry.actor_user_id is None
    assert entry.survivor_ref == ""
    assert entry.detail["rule"] == AlertRule.REFUSALS_PER_HOUR
    assert entry.detail["member"] == member.user_id
    assert entry.detail["count"] == 5
    assert alert.entry_seq == AuditEntry.objects.filter(action=Action.DENIED).last().seq


def test_alerts_are_emailed_to_compliance_officers_without_pii(
    members, django_capture_on_commit_callbacks
):
    officer = members["compliance"].user
    officer.email = "officer@example.org"
    officer.save()
    admin = members["admin"].user  # the caseworker's agency admin: not for this rule
    admin.email = "admin@example.org"
    admin.save()
    member = members["caseworker"]
    with (
        django_capture_on_commit_callbacks(execute=True),
        time_machine.travel(MORNING, tick=False),
    ):
        _distinct_reads(member, 21)
    (message,) = mail.outbox
    assert message.to == ["officer@example.org"]
    text = message.subject + message.body
    assert "many survivors read in an hour" in text
    assert f"Member id {member.user_id}" in text
    assert member.user.username not in text
    assert "S-0" not in text  # no survivor ref
    alert = Alert.objects.get()
    assert f"/audit/alerts/{alert.pk}/" in message.body


def test_emergency_alerts_also_go_to_the_acting_members_agency_admin(
    members, agencies, django_capture_on_commit_callbacks
):
    for key, address in (
        ("compliance", "officer@example.org"),
        ("admin", "shelter-admin@example.org"),
    ):
        user = members[key].user
        user.email = address
        user.save()
    other_admin = MemberFactory(agency=agencies["legal"], role="agency_admin").user
    other_admin.email = "legal-admin@example.org"
    other_admin.save()
    with django_capture_on_commit_callbacks(execute=True):
        emergency(members["caseworker"], 1)
    assert sorted(to for message in mail.outbox for to in message.to) == [
        "officer@example.org",
        "shelter-admin@example.org",
    ]
    assert all(len(message.to) == 1 for message in mail.outbox)  # nobody sees the others


def test_the_watch_counts_each_sealed_entry_once(members):
    member = members["caseworker"]
    with time_machine.travel(MORNING, tick=False):
        _refusals(member, 3)
        mark = AlertWatch.objects.get(pk=1).seq
        assert mark == AuditEntry.objects.order_by("-seq").first().seq
        assert alert_watch.watch() == []  # nothing new: nothing counted again
        assert AlertTally.objects.get(actor_user_id=member.user_id).count == 3
        _refusals(member, 2)
    assert AlertTally.objects.get(actor_user_id=member.user_id).count == 5
    assert len(alerts_of(member, AlertRule.REFUSALS_PER_HOUR)) == 1


def test_a_failing_rule_neither_fails_the_access_nor_loses_the_entry(members, monkeypatch):
    member = members["caseworker"]

    def broken(ids):
        raise RuntimeError("hours unavailable")

    member.agency.hours_start, member.agency.hours_end = time(9), time(17)
    member.agency.save()
    monkeypatch.setattr(alert_watch.hooks, "agency_hours", broken)
    with time_machine.travel(MORNING.replace(hour=3), tick=False):
        read(member, 1)  # recorded; the watch failed and kept its mark
        assert AuditEntry.objects.filter(action=Action.VIEW).count() == 1
        monkeypatch.undo()
        alert_watch.watch()  # the next run counts it
    assert len(alerts_of(member, AlertRule.OUTSIDE_HOURS)) == 1


class TestDistinctSurvivorsProperty(TestCase):
    """For any sequence of reads by two members within one hour, a member has an alert
    iff they opened more than the threshold of distinct survivors."""

    @settings(max_examples=25, deadline=None)
    @given(
        reads=st.lists(
            st.tuples(st.sampled_from(["a", "b"]), st.integers(min_value=1, max_value=6)),
            max_size=16,
        )
    )
    def test_alert_iff_more_than_threshold_distinct(self, reads):
        from django.test import override_settings

        agency = AgencyFactory(slug="prop-agency")
        people = {key: MemberFactory(agency=agency) for key in ("a", "b")}
        with (
            override_settings(ALERT_SURVIVORS_PER_HOUR=3),
            time_machine.travel(MORNING, tick=False),
        ):
            for key, survivor in reads:
                read(people[key], survivor)
        for key, member in people.items():
            distinct = {survivor for who, survivor in reads if who == key}
            fired = alerts_of(member, AlertRule.SURVIVORS_PER_HOUR)
            assert len(fired) == (1 if len(distinct) > 3 else 0)
            if fired:
                assert fired[0].count == 4


def _backlog_of_refusals(member, monkeypatch, count: int) -> int:
    """``count`` refusals recorded and sealed while the rules failed (none counted); the
    mark they wait behind. Then the rules work again, in batches of 2."""

    def broken(ids):
        raise RuntimeError("hours unavailable")

    monkeypatch.setattr(alert_watch.hooks, "agency_hours", broken)
    start = AlertWatch.objects.get(pk=1).seq
    _refusals(member, count)
    assert AlertWatch.objects.get(pk=1).seq == start
    monkeypatch.undo()
    monkeypatch.setattr(alert_watch, "BATCH", 2)
    return start


def test_a_backlog_is_counted_a_batch_at_a_time_each_entry_once(members, monkeypatch):
    # When its time is up a run leaves the rest of a backlog to the next runs: never
    # all under one sealing's lock.
    member = members["caseworker"]
    with time_machine.travel(MORNING, tick=False):
        start = _backlog_of_refusals(member, monkeypatch, 5)
        monkeypatch.setattr(alert_watch, "CATCH_UP_SECONDS", 0)
        marks, raised = [], []
        for _ in range(4):
            raised += alert_watch.watch()
            marks.append(AlertWatch.objects.get(pk=1).seq - start)
    # Two, two, the last one (its alert's own entry is counted by the next run), that.
    assert marks == [2, 4, 5, 6]
    assert AlertTally.objects.get(actor_user_id=member.user_id).count == 5
    assert [alert.rule for alert in raised] == [AlertRule.REFUSALS_PER_HOUR]
    assert len(alerts_of(member, AlertRule.REFUSALS_PER_HOUR)) == 1


def test_with_time_left_a_backlog_is_counted_in_one_run(members, monkeypatch):
    member = members["caseworker"]
    with time_machine.travel(MORNING, tick=False):
        _backlog_of_refusals(member, monkeypatch, 5)
        alert_watch.watch()
    refusals = AuditEntry.objects.filter(action=Action.DENIED).order_by("-seq")
    assert AlertWatch.objects.get(pk=1).seq == refusals.first().seq  # three batches, one run
    assert AlertTally.objects.get(actor_user_id=member.user_id).count == 5
