"""Where a referral read's time goes, stage by stage, and the SQL a request runs:
the in-process half of ``read_bench.py`` (it prints what these measure)."""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter, defaultdict

SKIPPED = ("SAVEPOINT", "RELEASE")


def statements(context) -> tuple[int, Counter]:
    kinds = Counter(q["sql"].lstrip().split(None, 1)[0].upper() for q in context.captured_queries)
    skipped = sum(n for kind, n in kinds.items() if kind in SKIPPED)
    return sum(kinds.values()) - skipped, kinds


class Stages:
    """Wall time spent inside chosen functions, summed over calls (wrapped in place);
    ``exclusive``: a stage's time leaves out the stages called inside it."""

    def __init__(self, *, exclusive: bool = False):
        self.spent: dict[str, float] = defaultdict(float)
        self.exclusive = exclusive
        self.inner: list[float] = []  # per open stage: the time of the stages inside it

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():
                return original(*args, **kwargs)  # e.g. the sealer's timer: not the read's
            started = time.perf_counter()
            self.inner.append(0.0)
            try:
                return original(*args, **kwargs)
            finally:
                took = time.perf_counter() - started
                inside = self.inner.pop()
                self.spent[stage] += took - inside if self.exclusive else took
                if self.inner:
                    self.inner[-1] += took

        setattr(owner, name, timed)


def print_stages(what: str, per: str, rows: list[tuple[str, float]]) -> None:
    """Print ``rows`` (label, ms) with each one's share of the in-process total."""
    print(f"where {what} time goes (in-process, mean ms per {per}):")
    total = dict(rows)["total (in-process)"]
    for label, value in rows:
        print(f"  {label:<58} {value:>7.2f} {100 * value / total:>5.0f}%")


def stage_times(client, path: str, reads: int) -> list[tuple[str, float]]:
    """Mean milliseconds per repeated detail read, by stage (exclusive times)."""
    from django.db import connection
    from rest_framework.renderers import JSONRenderer

    import agencies.permissions
    import coordination.services
    from agencies.authentication import OwnTokenAuthentication
    from audit import sealer
    from consent import data_keys
    from coordination import access, access_rule, presenters, selectors

    stages = Stages()
    for owner, name, stage in (
        (OwnTokenAuthentication, "authenticate", "auth"),
        (agencies.permissions, "membership_for", "membership"),
        (coordination.services, "referral_open", "open"),
        (selectors, "access_referral", "access_referral"),
        # decide_one (the read by id) calls the rule's own ``decide``, not the facade's.
        (access_rule, "decide", "decision"),
        (selectors, "record_by", "audit"),
        (sealer, "seal_pending", "seal"),
        (data_keys, "key_of", "data_key"),
        (access.Decision, "etag", "etag"),
        (presenters, "referral_shown", "present"),
        (JSONRenderer, "render", "render"),
    ):
        stages.wrap(owner, name, stage)
    s = stages.spent

    def sql_timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            s["sql"] += time.perf_counter() - started

    started = time.perf_counter()
    with connection.execute_wrapper(sql_timed):
        for _ in range(reads):
            assert client.get(path, secure=True).status_code == 200
    total = time.perf_counter() - started
    rows = [
        ("token auth (knox, 1 query)", s["auth"]),
        ("membership", s["membership"]),
        (
            "referral fetch by id (referral, statuses, decrypt)",
            s["access_referral"] - s["decision"] - s["audit"] - s["data_key"],
        ),
        ("access decision (consent, the member's emergency accesses)", s["decision"]),
        ("the survivor's data key (key store read, unwrap)", s["data_key"]),
        ("audit entry (unsealed insert)", s["audit"]),
        ("transaction + first-read check", s["open"] - s["access_referral"] - s["seal"]),
        ("sealing after commit (batched, share per read)", s["seal"]),
        ("ETag", s["etag"]),
        ("presenter (released fields)", s["present"]),
        ("JSON render", s["render"]),
    ]
    rows.append(("rest: middleware, DRF dispatch, test client", total - sum(t for _, t in rows)))
    rows.append(("total (in-process)", total))
    rows.append(("  of which executing SQL (all stages; COMMIT not included)", s["sql"]))
    return [(label, seconds * 1000 / reads) for label, seconds in rows]


def write_stage_times(client, path: str, body: dict, writes: int) -> list[tuple[str, float]]:
    """Mean milliseconds per note POST, by stage (exclusive times)."""
    import auditlog.receivers

    import coordination.services
    from agencies.authentication import OwnTokenAuthentication
    from audit import sealer
    from coordination import outbox, selectors
    from coordination.services import referrals

    stages = Stages(exclusive=True)
    for owner, name, stage in (
        (OwnTokenAuthentication, "authenticate", "auth"),
        (coordination.services, "note_add", "service"),
        (selectors, "referral_visible", "fetch"),
        (referrals.CaseNote.objects, "create", "note"),
        (auditlog.receivers, "_create_log_entry", "field_diff"),
        (referrals, "record_by", "audit"),
        (outbox, "emit", "emit"),
        (outbox, "_hearers", "hearers"),
        (sealer, "seal_pending", "seal"),
    ):
        stages.wrap(owner, name, stage)
    s = stages.spent
    started = time.perf_counter()
    for _ in range(writes):
        response = client.post(path, body, content_type="application/json", secure=True)
        assert response.status_code == 201, response.status_code
    total = time.perf_counter() - started
    rows = [
        ("token auth", s["auth"]),
        ("referral fetch by id and the actor's decision", s["fetch"]),
        ("the note row (encrypted text)", s["note"]),
        ("its field diff (django-auditlog)", s["field_diff"]),
        ("audit entry (unsealed insert)", s["audit"]),
        ("outbox: the other hearers' decisions", s["hearers"]),
        ("outbox: the event row, its stream entries", s["emit"]),
        ("the transaction: BEGIN (the write lock), COMMIT, after-commit work", s["service"]),
        ("sealing (batched, share per write)", s["seal"]),
    ]
    rows.append(
        ("rest: middleware, DRF, idempotency, test client", total - sum(dict(rows).values()))
    )
    rows.append(("total (in-process)", total))
    return [(label, seconds * 1000 / writes) for label, seconds in rows]
