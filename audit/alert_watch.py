"""The access-alert rules (DESIGN.md "Oversight"), evaluated incrementally.

As each batch of entries is sealed (``audit.sealer.IN_SEALING``: in the sealing's
transaction, in a savepoint of its own) the watch counts the sealed entries it has not
counted yet — the entries after its mark, in chain order, never a rescan of the trail
— into small per-member, per-hour tallies, and raises an alert when a tally reaches
its rule's threshold:

- ``survivors_per_hour``: one member opening the records of more than
  ``ALERT_SURVIVORS_PER_HOUR`` distinct survivors in a clock hour (UTC) — allowed
  ``view``/``list`` entries that name a survivor ``ref``; a list page of many rows is
  not an opening of each;
- ``outside_hours``: ``ALERT_OUTSIDE_HOURS_READS`` allowed reads (``view``/``list``) in
  an hour by a member of an agency that set its hours, outside those hours in its time
  zone (an agency without hours: the rule is off for it);
- ``refusals_per_hour``: ``ALERT_REFUSALS_PER_HOUR`` refused requests (``denied``
  entries) by one member in a clock hour;
- ``emergency_access``: every ``emergency_access`` entry.

The tallies, the mark and the alerts commit with the seals, under the chain head's
lock (and the mark's own): every entry is counted exactly once, in chain order, by one
process, and an alert fires once per rule, member and window. A threshold of 0 turns
its rule off. Raising an alert writes its ``alert_raise`` entry (as the system) and,
after commit, emails the recipients ``agencies`` registers (``connect``): no PII, only
the rule, the counts, the member's id and agency.

Why in the sealing, not in ``record()``'s transaction: no request pays for it (the
sealer thread counts once per sealing batch, on the rows the sealing already holds,
with no transaction of its own; ``bench/alert_bench.py`` measures it), and a failure of the
rules never fails an access nor stalls the chain: its savepoint rolls back alone, the
mark stays behind, and the next sealing counts those entries again. The price: an
alert follows its entry by one sealing (within a second), not in the same transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import alert_mail, context
from audit.ledger import ACTOR_FIELDS
from audit.models import (
    Action,
    Alert,
    AlertRule,
    AlertSighting,
    AlertTally,
    AlertWatch,
    AuditEntry,
    Outcome,
)
from audit.recorder import SYSTEM, record
from srn.prepared import prepared

logger = logging.getLogger(__name__)

BATCH = 2000
# A backlog (the rules failed for a while, entries loaded in bulk) is counted batch by
# batch for at most this long per sealing, the rest by the sealings after it: never all
# under one sealing's lock (on SQLite the database's write lock, which every audited
# request waits for; a backlog of 100,000 entries held it 4.8 s, bench/README.md).
CATCH_UP_SECONDS = 0.1
# Tallies and sightings older than this are swept (every SWEEP_EVERY entries counted).
KEEP = timedelta(days=1)
SWEEP_EVERY = 1000
HOUR = timedelta(hours=1)
READS = frozenset({Action.VIEW, Action.LIST})
FIELDS = ("seq", "at", *ACTOR_FIELDS, "action", "outcome", "survivor_ref")


@dataclass(frozen=True)
class OfficeHours:
    """An agency's working hours, in its own time zone; ``start > end`` spans midnight."""

    start: time
    end: time
    zone: str

    def covers(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.zone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass
class Hooks:
    """What the watch needs from the apps above ``audit`` (which it may not import):
    agencies' hours, and the email addresses an alert goes to. ``agencies`` connects
    them when the project starts (``AgenciesConfig.ready``)."""

    agency_hours: Callable[[Iterable[int]], dict[int, OfficeHours]] = lambda ids: {}
    recipients: Callable[[Alert], list[str]] = lambda alert: []


hooks = Hooks()


def connect(
    *,
    agency_hours: Callable[[Iterable[int]], dict[int, OfficeHours]],
    recipients: Callable[[Alert], list[str]],
) -> None:
    hooks.agency_hours = agency_hours
    hooks.recipients = recipients


def thresholds() -> dict[str, int]:
    """The count at which each rule fires (0: the rule is off)."""
    survivors = settings.ALERT_SURVIVORS_PER_HOUR
    return {
        AlertRule.SURVIVORS_PER_HOUR: survivors + 1 if survivors else 0,  # "more than"
        AlertRule.OUTSIDE_HOURS: settings.ALERT_OUTSIDE_HOURS_READS,
        AlertRule.REFUSALS_PER_HOUR: settings.ALERT_REFUSALS_PER_HOUR,
        AlertRule.EMERGENCY_ACCESS: 1 if settings.ALERT_EMERGENCY_ACCESS else 0,
    }


# An alert raised by the watch writes an entry whose sealing runs the watch again: the
# nested call returns at once (that entry is counted by the next run).
_running = threading.local()


def watch(sealed: list[AuditEntry] | None = None) -> list[Alert]:
    """Count the sealed entries after the mark, in chain order, and raise the alerts
    they make; the alerts raised. ``sealed``: the entries the calling sealing just
    sealed (counted from memory when they follow the mark). A backlog is counted for
    at most ``CATCH_UP_SECONDS`` (at least one batch), the rest by the next calls.
    Audits ``alert_raise`` of each alert (as the system)."""
    if getattr(_running, "active", False):
        return []
    _running.active = True
    raised: list[Alert] = []
    try:
        with transaction.atomic():  # a savepoint inside the sealing's transaction
            if sealed and _advance(sealed):
                raised += _Count([_row(entry) for entry in sealed], thresholds()).run()
                return raised
        started = monotonic()
        while True:
            with transaction.atomic():
                mark = _locked_mark()
                rows = list(
                    AuditEntry.objects.filter(seq__gt=mark.seq)
                    .order_by("seq")
                    .values(*FIELDS)[:BATCH]
                )
                if not rows:
                    break
                raised += _Count(rows, thresholds()).run()
                _move(mark, rows[-1]["seq"])
            if len(rows) < BATCH or monotonic() - started >= CATCH_UP_SECONDS:
                break
    finally:
        _running.active = False
    return raised


def _row(entry: AuditEntry) -> dict:
    return {name: getattr(entry, name) for name in FIELDS}


def _advance(sealed: list[AuditEntry]) -> bool:
    """Move the mark over ``sealed`` if it stands right before them (one statement,
    under the chain head's lock): then they are this run's to count, from memory."""
    last = sealed[-1].seq
    quote, meta = connection.ops.quote_name, AlertWatch._meta
    seq, pk = quote(meta.get_field("seq").column), quote(meta.pk.column)
    with connection.cursor() as cursor:  # uncompiled: every sealing runs it
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {seq} = %s WHERE {pk} = 1 AND {seq} = %s",  # noqa: S608
            [last, sealed[0].seq - 1],
        )
        moved = cursor.rowcount
    if moved and (sealed[0].seq - 1) // SWEEP_EVERY != last // SWEEP_EVERY:
        _sweep()
    return bool(moved)


def _move(mark: AlertWatch, seq: int) -> None:
    if mark.seq // SWEEP_EVERY != seq // SWEEP_EVERY:
        _sweep()
    mark.seq = seq
    mark.save(update_fields=["seq"])


def _locked_mark() -> AlertWatch:
    mark = AlertWatch.objects.select_for_update().filter(pk=1).first()
    if mark is None:  # made by the migration; a flushed test database lacks it
        AlertWatch.objects.get_or_create(pk=1, defaults={"seq": 0})
        mark = AlertWatch.objects.select_for_update().get(pk=1)
    return mark


def _sweep() -> None:
    cutoff = timezone.now() - KEEP
    AlertTally.objects.filter(window_start__lt=cutoff).delete()
    AlertSighting.objects.filter(window_start__lt=cutoff).delete()


# Every sealing asks these: compiled once (``srn.prepared``).
@prepared
def _tallies(*, users, hours):
    return AlertTally.objects.filter(actor_user_id__in=users, window_start__in=hours).order_by()


@prepared
def _sightings(*, users, hours, refs):
    return (
        AlertSighting.objects.filter(
            actor_user_id__in=users, window_start__in=hours, survivor_ref__in=refs
        )
        .order_by()
        .values_list("actor_user_id", "window_start", "survivor_ref")
    )


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class _Count:
    """One batch of entries counted into the tallies, in chain order."""

    def __init__(self, rows: list[dict], limits: dict[str, int]):
        self.rows = rows
        self.limits = limits
        self.tallies: dict[tuple, AlertTally] = {}
        self.known: set[tuple] = set()  # tallies already stored (updated, not created)
        self.changed: set[tuple] = set()
        self.raised: list[Alert] = []

    def run(self) -> list[Alert]:
        members = [row for row in self.rows if row["actor_user_id"] is not None]
        self._load_tallies(members)
        seen = self._load_sightings(members)
        hours = self._load_hours(members)
        new_sightings = []
        for row in members:
            hour = _hour_of(row["at"])
            allowed_read = row["outcome"] == Outcome.ALLOWED and row["action"] in READS
            if allowed_read and row["survivor_ref"] and self.limits[AlertRule.SURVIVORS_PER_HOUR]:
                key = (row["actor_user_id"], hour, row["survivor_ref"])
                if key not in seen:
                    seen.add(key)
                    new_sightings.append(key)
                    self._add(AlertRule.SURVIVORS_PER_HOUR, row, hour)
            office = hours.get(row["actor_agency_id"])
            if allowed_read and office is not None and not office.covers(row["at"]):
                self._add(AlertRule.OUTSIDE_HOURS, row, hour)
            if row["action"] == Action.DENIED:
                self._add(AlertRule.REFUSALS_PER_HOUR, row, hour)
            if row["action"] == Action.EMERGENCY_ACCESS and self.limits[AlertRule.EMERGENCY_ACCESS]:
                self._fire(AlertRule.EMERGENCY_ACCESS, row, row["at"], row["at"], 1)
        if new_sightings:
            AlertSighting.objects.bulk_create(
                AlertSighting(actor_user_id=user, window_start=hour, survivor_ref=ref)
                for user, hour, ref in new_sightings
            )
        self._save_tallies()
        return self.raised

    def _load_tallies(self, members: list[dict]) -> None:
        users = {row["actor_user_id"] for row in members}
        hours = {_hour_of(row["at"]) for row in members}
        if not users:
            return
        for tally in _tallies(users=users, hours=hours):
            self.tallies[(tally.rule, tally.actor_user_id, tally.window_start)] = tally
        self.known = set(self.tallies)

    def _load_sightings(self, members: list[dict]) -> set[tuple]:
        reads = [row for row in members if row["survivor_ref"] and row["action"] in READS]
        if not reads or not self.limits[AlertRule.SURVIVORS_PER_HOUR]:
            return set()
        found = _sightings(
            users={row["actor_user_id"] for row in reads},
            hours={_hour_of(row["at"]) for row in reads},
            refs={row["survivor_ref"] for row in reads},
        )
        return set(found)

    def _load_hours(self, members: list[dict]) -> dict[int, OfficeHours]:
        if not self.limits[AlertRule.OUTSIDE_HOURS]:
            return {}
        agencies = {row["actor_agency_id"] for row in members if row["actor_agency_id"]}
        return hooks.agency_hours(agencies) if agencies else {}

    def _add(self, rule: str, row: dict, hour: datetime) -> None:
        threshold = self.limits[rule]
        if not threshold:
            return
        key = (rule, row["actor_user_id"], hour)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = AlertTally(
                rule=rule, actor_user_id=row["actor_user_id"], window_start=hour, count=0
            )
        tally.count += 1
        self.changed.add(key)
        if tally.count == threshold:
            self._fire(rule, row, hour, hour + HOUR, tally.count)

    def _save_tallies(self) -> None:
        created = [self.tallies[key] for key in self.changed - self.known]
        if created:
            AlertTally.objects.bulk_create(created)
        changed = [self.tallies[key] for key in self.changed & self.known]
        if changed:
            AlertTally.objects.bulk_update(changed, ["count"])

    def _fire(self, rule: str, row: dict, start: datetime, end: datetime, count: int) -> None:
        if Alert.objects.filter(
            rule=rule, actor_user_id=row["actor_user_id"], window_start=start
        ).exists():
            return  # a threshold lowered below a count already reached fires no second time
        alert = Alert.objects.create(
            rule=rule,
            actor_user_id=row["actor_user_id"],
            actor_username=row["actor_username"],
            actor_agency_id=row["actor_agency_id"],
            actor_agency=row["actor_agency"],
            window_start=start,
            window_end=end,
            count=count,
            threshold=self.limits[rule],
            entry_seq=row["seq"],
            created_at=timezone.now(),
        )
        recipients = hooks.recipients(alert)
        # The system's entry: not the request whose commit happened to run this sealing.
        with context.bound(context.RequestContext()):
            self._record(alert, row, start, count, len(recipients))
        transaction.on_commit(lambda: alert_mail.send(alert, recipients), robust=True)
        self.raised.append(alert)

    def _record(self, alert: Alert, row: dict, start: datetime, count: int, recipients: int):
        record(
            action=Action.ALERT_RAISE,
            actor=SYSTEM,
            object_type="alert",
            object_id=alert.pk,
            detail={
                "rule": alert.rule,
                "member": row["actor_user_id"],
                "agency": row["actor_agency"],
                "count": count,
                "threshold": alert.threshold,
                "window_start": start.isoformat(),
                "entry_seq": row["seq"],
                "recipients": recipients,
            },
        )
