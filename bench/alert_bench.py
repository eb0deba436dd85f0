"""Alert bench: what the access-alert rules (``audit/alert_watch.py``) cost an audited
read.

    .venv/bin/python bench/alert_bench.py [--quick]
    SRN_PROFILE=production DATABASE_URL=… REDIS_URL=… (and the other production variables) \\
      .venv/bin/python bench/alert_bench.py --throwaway-database

On a throwaway test database, in this process (Django's test client, real commits, the
sealer batching as in production): a caseworker's audited referral detail read
(``GET /api/v1/referrals/{id}/`` with a bearer token), cycling over 20 referrals of 20
survivors (so the distinct-survivor rule keeps real sets, below its threshold), in
blocks of reads alternately WITH the rules (``alert_watch.watch`` in
``sealer.IN_SEALING``: in each sealing's transaction, as the project runs) and WITHOUT
them, so both modes see the same machine. Per mode: the median over blocks of the mean
time per read (each block's time includes the sealings, and the rule runs in them,
that fell on the request thread). Also the time spent inside ``watch`` itself, summed
on every thread, as a share of the read time of the WITH blocks (a figure that the
machine's noise does not blur).

The last line is ``RESULT alert_overhead_ratio=… watch_share=… reads=…``, where
``alert_overhead_ratio`` = median WITH / median WITHOUT - 1 (the target: at most 0.05).
Every loop is bounded in count and in time.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import sys
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _servers

PLANS = {
    "full": {"rounds": 20, "block": 100, "limit": 600.0},
    "quick": {"rounds": 8, "block": 50, "limit": 120.0},
}
SURVIVORS = 20
WARMUP = 40
CASEWORKER = "shelter.worker"


class WatchClock:
    """Seconds spent inside the rules, on any thread (the sealer's timer included)."""

    def __init__(self, watch):
        self.watch = watch
        self.spent = 0.0
        self.runs = 0
        self.lock = threading.Lock()

    def __call__(self, sealed=None):
        started = time.perf_counter()
        try:
            return self.watch(sealed)
        finally:
            with self.lock:
                self.spent += time.perf_counter() - started
                self.runs += 1


def measure(plan: dict, password: str) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from agencies import services as agency_services
    from agencies.models import Membership
    from audit import alert_watch, sealer
    from audit.models import Alert, AlertTally
    from bench.read_bench import seed_service

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        world = seed_service(password, survivors=SURVIVORS, referrals=SURVIVORS)
        member = Membership.objects.select_related("agency", "user").get(user__username=CASEWORKER)
        _, key = agency_services.token_issue(member=member)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        paths = [f"/api/v1/referrals/{referral}/" for referral in world["referrals"]]
        clock = WatchClock(alert_watch.watch)
        sealer.IN_SEALING[:] = [clock]
        turn = [0]

        def read() -> None:
            path = paths[turn[0] % len(paths)]
            turn[0] += 1
            response = client.get(path, secure=True)
            assert response.status_code == 200, response.status_code

        for _ in range(WARMUP):
            read()
        blocks: dict[str, list[float]] = {"with": [], "without": []}
        with_seconds = 0.0
        spent_before = clock.spent
        deadline = time.monotonic() + plan["limit"]
        for _ in range(plan["rounds"]):
            if time.monotonic() > deadline:
                break
            for mode in ("with", "without"):
                sealer.flush()  # each block starts with nothing waiting
                sealer.IN_SEALING[:] = [clock] if mode == "with" else []
                if mode == "with":
                    alert_watch.watch()  # catch up on the entries the last block left
                    spent_before = clock.spent
                started = time.perf_counter()
                for _ in range(plan["block"]):
                    read()
                seconds = time.perf_counter() - started
                blocks[mode].append(seconds / plan["block"])
                if mode == "with":
                    sealer.flush()  # the block's last sealing and its rule run
                    with_seconds += seconds
                    blocks.setdefault("watch", []).append(clock.spent - spent_before)
        sealer.IN_SEALING[:] = [alert_watch.watch]
        sealer.flush()
        return {
            "blocks": blocks,
            "with_seconds": with_seconds,
            "watch_runs": clock.runs,
            "alerts": Alert.objects.count(),
            "tallies": AlertTally.objects.count(),
            "reads": turn[0],
        }
    finally:
        sealer.flush()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(mode: str, production: bool, figures: dict) -> str:
    blocks = figures["blocks"]
    with_ms = statistics.median(blocks["with"]) * 1000
    without_ms = statistics.median(blocks["without"]) * 1000
    watch_share = sum(blocks["watch"]) / figures["with_seconds"]
    ratio = with_ms / without_ms - 1
    profile = "production (PostgreSQL)" if production else "embedded (SQLite WAL)"
    print(
        f"alert_bench, {mode}, {profile} profile, nproc={os.cpu_count()}, {date.today()}, "
        f"{len(blocks['with'])} blocks per mode, {figures['reads']} reads"
    )
    print(f"  detail read, mean ms (median of blocks), WITH the rules:    {with_ms:7.3f}")
    print(f"  detail read, mean ms (median of blocks), WITHOUT the rules: {without_ms:7.3f}")
    spread = [b * 1000 for b in blocks["without"]]
    print(f"  WITHOUT blocks range {min(spread):.3f}-{max(spread):.3f} ms (the machine's noise)")
    print(
        f"  time inside the rules: {sum(blocks['watch']) * 1000:.1f} ms in "
        f"{figures['watch_runs']} runs = {100 * watch_share:.2f}% of the WITH blocks' read time"
    )
    print(f"  alerts raised: {figures['alerts']} (none expected); tallies: {figures['tallies']}")
    return (
        f"RESULT alert_overhead_ratio={ratio:.3f} watch_share={watch_share:.4f} "
        f"reads={figures['reads']}"
    )


def main() -> None:
    mode, production = _servers.bench_arguments(__doc__.split("\n\n")[0], "fewer reads")
    data_dir = _servers.setup_django(production)
    try:
        figures = measure(PLANS[mode], secrets.token_urlsafe(16))
    finally:
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(report(mode, production, figures), flush=True)


if __name__ == "__main__":
    main()
