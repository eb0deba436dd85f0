"""Report benchmark: the de-identified referral report over 100,000 referrals.

    .venv/bin/python bench/report_bench.py [--quick]     # SQLite (a throwaway database)
    DATABASE_URL=postgres://USER:PW@HOST:5432/DB .venv/bin/python bench/report_bench.py
                                                         # SQLite, then PostgreSQL (a
                                                         # throwaway test_DB on that server)

Each database is measured in a child process of its own, on a throwaway test database
(Django's test-database machinery: nothing touches ``var/`` or a real database). It
bulk-loads ``--referrals`` referrals (100,000) from 4 referring agencies to 1-3 of 12
recipients each (about 200,000 recipient statuses), over a year, in every urgency, with
1-3 needs, 20 regions, every status, acceptance times for the accepted ones and
consents (half with ``status_updates``) for 5,000 survivors. Then it reads
``GET /api/v1/reports/referrals/?group_by=…`` through the real API view (permission,
parameters, the SQL aggregation, suppression, the audit entry, the serializer) as a
network admin for each grouping, and as an agency admin of a referring agency.

A report's figure is the median wall time of ``--runs`` reads (after one warm-up read),
printed with the CPU time of this process (on SQLite the database's work too; on a
shared machine the difference is waiting for a core); the ``report_seconds_*`` figure
is the slowest grouping's, as a network admin. The last
line is ``RESULT report_seconds_sqlite=… report_seconds_pg=… referrals=…``
(``report_seconds_pg=not_run`` without a PostgreSQL ``DATABASE_URL``). The target is 1 s.
Not a test; CI does not run it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GROUPINGS = ("need", "region", "urgency", "status", "agency")
NEEDS = (
    "shelter",
    "medical",
    "mental_health",
    "legal",
    "immigration",
    "employment",
    "education",
    "interpretation",
    "basic_needs",
    "safety_planning",
)
# status -> weight; accepted-or-later statuses carry an acceptance time
STATUSES = {
    "awaiting_consent": 4,
    "requested": 8,
    "received": 6,
    "accepted": 10,
    "rejected": 6,
    "in_progress": 12,
    "on_hold": 2,
    "completed": 14,
    "cancelled": 3,
    "consent_revoked": 1,
}
ACCEPTED = {"accepted", "in_progress", "on_hold", "completed"}
SURVIVORS = 5_000
BATCH = 5_000


def _setup(database_url: str | None, scratch: str):
    os.environ["SRN_DATA_DIR"] = scratch  # embedded secrets and SQLite live here
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "srn.settings")
    import django
    from django.conf import settings

    if database_url:
        from srn.postgres import postgres_database

        # As the production profile connects (srn/postgres.py), one connection at a time.
        settings.DATABASES["default"] = postgres_database(database_url, pool_size=0)
    else:
        settings.DATABASES["default"]["TEST"] = {"NAME": str(Path(scratch) / "bench.sqlite3")}
    settings.LOGGING_CONFIG = None
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    django.setup()
    from django.db import connection

    return connection


def build(referrals: int, rng: random.Random) -> dict:
    """Agencies, the two readers, survivors, consents, referrals and their statuses, in
    bulk. Returns the readers' memberships."""
    from django.contrib.auth import get_user_model

    from agencies.models import Agency, Membership, Role
    from consent.models import Consent, Survivor
    from coordination.models import RecipientStatus, Referral
    from tests.factories import ConsentFactory

    def agency(slug, kind):
        return Agency.objects.create(slug=slug, name=slug.title(), kind=kind)

    referrers = [agency(f"police-{n}", "law_enforcement") for n in range(4)]
    recipients = [agency(f"provider-{n}", "ngo") for n in range(12)]
    oversight = agency("oversight", "government")
    user = get_user_model().objects.create_user("bench.liaison")
    readers = {
        "network": Membership.objects.create(
            user=get_user_model().objects.create_user("bench.network"),
            agency=oversight,
            role=Role.NETWORK_ADMIN,
        ),
        "agency": Membership.objects.create(
            user=get_user_model().objects.create_user("bench.admin"),
            agency=referrers[0],
            role=Role.AGENCY_ADMIN,
        ),
    }
    survivors = Survivor.objects.bulk_create(
        Survivor(owner_agency=referrers[n % 4], created_by=user) for n in range(SURVIVORS)
    )
    now = datetime.now(UTC)
    consents = Consent.objects.bulk_create(
        # the tests' written, signed consent, built unsaved for one bulk insert
        ConsentFactory.build(
            survivor=survivor,
            owner_agency=survivor.owner_agency,
            categories=["identity", "status_updates"] if n % 2 else ["identity"],
            evidence_sha256="b" * 64,
            notice_version="bench",
            valid_from=now - timedelta(days=400),
            expires_at=now + timedelta(days=30),
            recorded_by=user,
        )
        for n, survivor in enumerate(survivors)
    )
    through = Consent.recipients.through
    through.objects.bulk_create(
        through(consent_id=consent.id, agency_id=agency.id)
        for consent in consents
        for agency in rng.sample(recipients, 3)
    )
    created_at = Referral._meta.get_field("created_at")
    created_at.auto_now_add = False  # the bench spreads referrals over a year
    statuses, weights = list(STATUSES), list(STATUSES.values())
    try:
        for start in range(0, referrals, BATCH):
            batch = []
            for _ in range(min(BATCH, referrals - start)):
                survivor = rng.choice(survivors)
                batch.append(
                    Referral(
                        survivor=survivor,
                        referring_agency_id=survivor.owner_agency_id,
                        needs=rng.sample(NEEDS, rng.randint(1, 3)),
                        urgency=rng.choice(("emergency", "high", "routine")),
                        region=f"region-{rng.randrange(20)}",
                        created_by=user,
                        created_at=now - timedelta(minutes=rng.randrange(365 * 24 * 60)),
                    )
                )
            Referral.objects.bulk_create(batch)
            rows = []
            for referral in batch:
                for agency in rng.sample(recipients, rng.randint(1, 3)):
                    status = rng.choices(statuses, weights)[0]
                    waited = timedelta(minutes=rng.randrange(10, 14 * 24 * 60))
                    rows.append(
                        RecipientStatus(
                            referral=referral,
                            agency=agency,
                            status=status,
                            accepted_at=referral.created_at + waited
                            if status in ACCEPTED
                            else None,
                        )
                    )
            RecipientStatus.objects.bulk_create(rows)
    finally:
        created_at.auto_now_add = True
    return readers


def measure(readers: dict, runs: int) -> dict[str, dict[str, float]]:
    """Median seconds of ``runs`` report reads per reader and grouping, through the API."""
    from rest_framework.test import APIClient

    figures: dict[str, dict[str, float]] = {}
    for reader, member in readers.items():
        client = APIClient()
        client.force_authenticate(user=member.user)
        figures[reader] = {}
        for group_by in GROUPINGS:
            url = f"/api/v1/reports/referrals/?group_by={group_by}"
            samples, cpu = [], []
            for attempt in range(runs + 1):
                started, used = time.perf_counter(), time.process_time()
                response = client.get(url)
                elapsed, used = time.perf_counter() - started, time.process_time() - used
                assert response.status_code == 200, (url, response.status_code)
                if attempt:  # the first read warms the caches
                    samples.append(elapsed)
                    cpu.append(used)
            figures[reader][group_by] = statistics.median(samples)
            print(
                f"  {reader:<8} {group_by:<8} {figures[reader][group_by]:7.3f} s"
                f"  (this process's CPU {statistics.median(cpu):.3f} s)",
                flush=True,
            )
    return figures


def child(args) -> int:
    """Build and measure on one database; the last line is the figures as JSON."""
    scratch = tempfile.mkdtemp(prefix="srn-report-bench-")
    connection = _setup(args.database_url, scratch)
    print(f"database: {connection.vendor}; creating a throwaway test database ...", flush=True)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        readers = build(args.referrals, random.Random(20261126))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"built {args.referrals:,} referrals in {time.perf_counter() - started:.1f} s")
        figures = measure(readers, args.runs)
    finally:
        from audit import sealer

        sealer.flush()  # the reads' entries, before their database goes
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"vendor": connection.vendor, "figures": figures}))
    return 0


def run_child(args, database_url: str | None) -> dict:
    command = [sys.executable, __file__, "--child", "--referrals", str(args.referrals)]
    command += ["--runs", str(args.runs)]
    if database_url:
        command += ["--database-url", database_url]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True
    )
    lines = done.stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True)
    return json.loads(lines[-1])["figures"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="timed reads per report (median)")
    parser.add_argument("--quick", action="store_true", help="one timed read per report")
    parser.add_argument("--database-url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.runs = 1
    if args.child:
        return child(args)
    postgres = os.environ.get("DATABASE_URL", "")
    postgres = postgres if postgres.startswith(("postgres://", "postgresql://")) else ""
    worst = {}
    for name, url in (("sqlite", None), ("pg", postgres)):
        if name == "pg" and not url:
            worst[name] = "not_run"
            continue
        print(f"== {name} ==", flush=True)
        figures = run_child(args, url)
        worst[name] = f"{max(figures['network'].values()):.3f}"
        agency = max(figures["agency"].values())
        print(f"{name}: slowest network report {worst[name]} s; agency admin {agency:.3f} s")
    print(
        f"RESULT report_seconds_sqlite={worst['sqlite']} report_seconds_pg={worst['pg']} "
        f"referrals={args.referrals}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
