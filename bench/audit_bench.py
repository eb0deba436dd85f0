"""Audit trail benchmark: a chain of a million entries, verified and filtered.

    python bench/audit_bench.py                     # throwaway SQLite in a temp dir
    python bench/audit_bench.py --database-url postgres://user:pw@host:5432/srn
                                                    # throwaway test_<db> on that server
    python bench/audit_bench.py --large 200000      # a smaller run
    python bench/audit_bench.py --quick             # under two minutes (5k -> 100k)

Ends with one line ``RESULT verify_entries_per_s=<n> ...`` (the large chain).

Builds the chain with real hashes (``audit.chain``) through a bulk path, first
``--small`` entries, then extends the same chain to ``--large``. At each size it
prints the verification throughput (``audit.verify.verify_chain``, the code
``verify_audit`` runs) and, for each compliance filter of ``GET /api/v1/audit/...``
(run through the real API views), the median latency and the SQL query count; then
the large/small ratio. A ratio near 1 means the filter's index holds.
Not a test; CI does not run it.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACTIONS = ["view"] * 40 + ["list"] * 30 + ["create"] * 8 + ["transition"] * 8 + ["denied"] * 5
ACTIONS += ["update", "consent_record", "consent_revoke", "login", "login_failed", "export"] * 1
AGENCIES = [f"agency-{n}" for n in range(40)]
USERS = 400
REFS = 50_000
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TARGET_REF = "S-BENCH222"  # one survivor seen throughout the chain: the ledger's subject
TARGET_OBJECT = "00000000-0000-4000-8000-00000000beef"
START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(days=365) / 1_000_000  # a million entries a year


def _ref(rng: random.Random) -> str:
    return "S-" + "".join(rng.choice(REF_ALPHABET) for _ in range(8))


def _content(seq: int, rng: random.Random, refs: list[str]) -> dict:
    user = rng.randrange(1, USERS + 1)
    action = rng.choice(ACTIONS)
    denied = action in ("denied", "login_failed")
    targeted = seq % 1000 == 0
    ref = TARGET_REF if targeted else rng.choice(refs)
    object_id = TARGET_OBJECT if targeted else f"{rng.getrandbits(128):032x}"
    consents = [f"{rng.getrandbits(128):032x}"] if action in ("view", "list") else []
    detail: dict = {}
    if action == "list":
        detail = {
            "count": 1,
            "filters": {
                "items": [
                    {"referral": object_id, "ref": ref, "categories": ["identity"]}
                    | {"consents": consents}
                ]
            },
        }
        ref_field, consents_field = "", []
    else:
        ref_field, consents_field = ref, consents
    return {
        "seq": seq,
        "at": START + STEP * seq,
        "actor_user_id": user,
        "actor_username": f"user{user}",
        "actor_agency_id": user % len(AGENCIES) + 1,
        "actor_agency": AGENCIES[user % len(AGENCIES)],
        "actor_role": "caseworker",
        "action": action,
        "object_type": "referral",
        "object_id": object_id,
        "survivor_ref": ref_field,
        "categories": ["contact", "identity"] if consents else [],
        "consent_ids": consents_field,
        "outcome": "denied" if denied else "allowed",
        "detail": detail,
        "request_id": f"{rng.getrandbits(128):032x}",
        "client_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "user_agent": "bench/1.0",
    }


def build(upto: int, rng: random.Random, refs: list[str], batch: int = 5000) -> float:
    """Append entries up to ``upto`` with real chained hashes (bulk inserts)."""
    from audit import checkpoints, sealer
    from audit.chain import entry_hash
    from audit.ledger import disclosures_of
    from audit.models import AlertWatch, AuditEntry, ChainHead, Disclosure

    sealer.flush()  # the filters' own audited reads, else sealed later onto a moved head
    head = ChainHead.objects.get(pk=1)
    last, previous = head.seq, head.hash
    started = time.perf_counter()
    for first in range(last + 1, upto + 1, batch):
        entries, lines = [], []
        for seq in range(first, min(first + batch, upto + 1)):
            content = _content(seq, rng, refs)
            digest = entry_hash(previous, content)
            entries.append(AuditEntry(prev_hash=previous, hash=digest, **content))
            lines += [Disclosure(**line) for line in disclosures_of(SimpleNamespace(**content))]
            previous, last = digest, seq
        AuditEntry.objects.bulk_create(entries)
        Disclosure.objects.bulk_create(lines)
        # A signed, exported checkpoint per batch, as the sealer makes one every
        # AUDIT_CHECKPOINT_EVERY_ENTRIES: verification checks every entry against one.
        ChainHead.objects.filter(pk=1).update(seq=last, hash=previous)
        # The access-alert rules count each sealing's entries as it seals them; these
        # stand for a trail they counted so (else the next sealing would count them all).
        AlertWatch.objects.filter(pk=1).update(seq=last)
        checkpoints.checkpoint_write()
    return time.perf_counter() - started


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the verifying workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def verify_throughput(workers: int) -> tuple[float, int, bool, float]:
    """(entries/s, entries, verified, CPU µs per entry). On a shared machine the CPU
    time per entry is the steadier figure: entries/s falls with other processes' load."""
    from audit.verify import verify_chain

    cpu, started = _cpu_seconds(), time.perf_counter()
    result = verify_chain(workers=workers)
    elapsed = time.perf_counter() - started
    per_entry = (_cpu_seconds() - cpu) / max(result.checked, 1) * 1e6
    return result.checked / elapsed, result.checked, result.ok, per_entry


FILTERS = {
    "actor": "actor=7",
    "agency": "agency=agency-3",
    "action": "action=denied",
    "object": f"object_type=referral&object_id={TARGET_OBJECT}",
    "survivor_ref": f"survivor_ref={TARGET_REF}",
    "outcome": "outcome=denied",
    "combined": "agency=agency-3&action=view",
}
TIME_WINDOW = timedelta(hours=6)  # the newest six hours: ~700 entries at either size


def measure_filters(client, runs: int) -> dict[str, tuple[float, int, int]]:
    """name -> (median seconds, SQL queries, rows on the page), through the API."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audit.models import AuditEntry

    newest = AuditEntry.objects.order_by("-seq").values_list("at", flat=True).first()
    since = (newest - TIME_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths = {name: f"/api/v1/audit/entries/?{q}" for name, q in FILTERS.items()}
    paths["time_range"] = f"/api/v1/audit/entries/?since={since}"
    paths["ledger"] = f"/api/v1/audit/ledger/?survivor_ref={TARGET_REF}"
    results = {}
    for name, path in paths.items():
        timings, queries, rows = [], 0, 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(path, secure=True)  # production redirects plain HTTP
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (name, response.status_code)
            queries, rows = len(captured), len(response.json()["results"])
        results[name] = (statistics.median(timings), queries, rows)
    return results


def _compliance_client():
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from agencies.models import Agency, AgencyKind, Membership, Role

    agency = Agency.objects.create(
        slug="bench-oversight", name="Oversight", kind=AgencyKind.GOVERNMENT
    )
    user = get_user_model().objects.create(username="bench.compliance")
    Membership.objects.create(user=user, agency=agency, role=Role.COMPLIANCE_OFFICER)
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7, help="runs per filter (median)")
    parser.add_argument("--quick", action="store_true", help="5k -> 100k entries, 3 runs")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="verification processes"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL server to create a throwaway test database on (default: SQLite)",
    )
    args = parser.parse_args()
    if args.quick:
        args.small, args.large, args.runs = 5_000, 100_000, 3
    if not 0 < args.small < args.large <= 5_000_000:
        parser.error("need 0 < --small < --large <= 5,000,000")

    scratch = tempfile.mkdtemp(prefix="srn-audit-bench-")
    os.environ["SRN_DATA_DIR"] = scratch  # embedded secrets and SQLite live here
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "srn.settings")
    import django
    from django.conf import settings

    if args.database_url:
        import dj_database_url

        settings.DATABASES["default"] = dj_database_url.parse(args.database_url)
    else:
        settings.DATABASES["default"]["TEST"] = {"NAME": str(Path(scratch) / "bench.sqlite3")}
    settings.LOGGING_CONFIG = None
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    django.setup()
    from django.db import connection

    print(f"database: {connection.vendor}; creating a throwaway test database ...", flush=True)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return _run(args, connection)
    finally:
        from audit import sealer

        sealer.flush()  # the API reads' entries, before their database goes
        sealer.reset()  # and the sealer thread with its connection (PostgreSQL drops
        # no database a session still uses)
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args, connection) -> int:
    rng = random.Random(20261123)
    refs = [_ref(rng) for _ in range(REFS)]
    client = _compliance_client()
    figures = {}
    for size in (args.small, args.large):
        built = build(size, rng, refs)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        load = os.getloadavg()[0]
        rate, checked, ok, cpu = verify_throughput(args.workers)
        filters = measure_filters(client, args.runs)
        figures[size] = (rate, filters, cpu, load)
        print(
            f"\n== {size:,} entries (built in {built:.1f} s) ==\n"
            f"verify: {checked:,} entries, ok={ok}, {rate:,.0f} entries/s, "
            f"{cpu:.1f} µs CPU per entry (load average {load:.1f} before)",
            flush=True,
        )
        for name, (seconds, queries, rows) in filters.items():
            print(f"  {name:<13} {seconds * 1000:8.2f} ms  {queries} queries  {rows} rows")
    small, large = figures[args.small][1], figures[args.large][1]
    verified_ok = ok
    print(f"\n== ratio {args.large:,} / {args.small:,} (median of {args.runs} runs) ==")
    for name in small:
        ratio = large[name][0] / small[name][0]
        print(
            f"  {name:<13} {small[name][0] * 1000:8.2f} ms -> {large[name][0] * 1000:8.2f} ms"
            f"   x{ratio:5.2f}"
        )
    print(
        f"RESULT verify_entries_per_s={figures[args.large][0]:.0f} entries={args.large}"
        f" ok={verified_ok} workers={args.workers} nproc={os.cpu_count()}"
        f" cpu_us_per_entry={figures[args.large][2]:.1f} load={figures[args.large][3]:.1f}"
        f" database={connection.vendor}",
        flush=True,
    )
    return 0 if verified_ok else 1


if __name__ == "__main__":
    sys.exit(main())
