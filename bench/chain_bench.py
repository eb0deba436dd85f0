"""Chain lock benchmark: how long the sealer holds the chain head's row lock while
concurrent clients make audited reads through Daphne.

    .venv/bin/python bench/chain_bench.py --quick          # embedded (SQLite), ~20 s
    SRN_PROFILE=production DATABASE_URL=… REDIS_URL=… (and the other production variables) \\
      .venv/bin/python bench/chain_bench.py --throwaway-database   # PostgreSQL + Redis

``--clients`` (16) threads, each on its own keep-alive connection, read one referral
(``GET /api/v1/referrals/{id}/`` as a caseworker under consent: an audited read, so
one entry each) from ``--workers`` (2) Daphne processes for ``--seconds``. The
Daphnes serve ``bench/chain_asgi.py``: the service with the sealer's locked section
timed (from the ``select_for_update`` grant on ``ChainHead`` to the commit that
releases it). Afterwards every entry must be sealed into one intact chain.

Ends with ``RESULT lock_hold_p50_ms=… lock_hold_p99_ms=… clients=… workers=…
sealings=… head_moved=… entries_per_sealing=… reads_per_s=… nproc=… database=…``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _servers
from bench._servers import Loopback, percentile
from bench.read_bench import CASEWORKER, seed_service, token

WARMUP = 2.0  # seconds of load before measuring, per Daphne set


def parse(description: str, seconds: float, quick_seconds: float):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=f"{quick_seconds:g} s windows")
    parser.add_argument("--seconds", type=float, default=seconds, help="measured window")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--throwaway-database", action="store_true")
    return parser


def prepare(parser, args):
    """Set Django up on the profile's database and seed one consented referral.
    Returns (Daphne environment, data dir to remove or None, password, referral id)."""
    production = _servers.production_profile()
    if production and not args.throwaway_database:
        parser.error("the production profile writes to DATABASE_URL: pass --throwaway-database")
    data_dir = _servers.setup_django(production)
    password = secrets.token_urlsafe(16)
    world = seed_service(password, referrals=1)
    env = {"LOG_LEVEL": "WARNING"}
    if data_dir is not None:
        env["SRN_DATA_DIR"] = str(data_dir)
    return env, data_dir, password, world["referrals"][0]


def reader(port: int, password: str, referral: str) -> tuple[dict, str]:
    """The caseworker's headers and the detail path, the referral read once (its first
    read marks it received; the later ones are the repeated read)."""
    key = token(port, "/api/v1/auth/token/", CASEWORKER, password, "token")
    headers = {"Authorization": f"Bearer {key}"}
    path = f"/api/v1/referrals/{referral}/"
    status, _, _ = Loopback(port, headers).call("GET", path)
    assert status == 200, f"first read: {status}"
    return headers, path


def chain_intact() -> tuple[bool, int]:
    """(verified, entries) once every waiting entry is sealed."""
    from audit import sealer
    from audit.verify import verify_chain

    sealer.flush()
    result = verify_chain()
    if not result.ok:
        print(f"chain broken at {result.first_bad_seq}: {result.reason}")
    return result.ok and result.pending == 0, result.checked


def finish(figures: dict, intact: bool) -> None:
    """Print the RESULT line, the core count and database beside the figures, and exit
    (1 when the chain is not intact afterwards)."""
    from django.db import connection

    figures = {**figures, "chain_ok": intact, "nproc": os.cpu_count()}
    figures["database"] = connection.vendor
    print("RESULT " + " ".join(f"{name}={value}" for name, value in figures.items()), flush=True)
    sys.exit(0 if intact else 1)


def main() -> None:
    parser = parse(__doc__.split("\n\n")[0], seconds=20.0, quick_seconds=8.0)
    parser.add_argument("--workers", type=int, default=2, help="Daphne processes")
    args = parser.parse_args()
    seconds = 8.0 if args.quick else args.seconds
    env, data_dir, password, referral = prepare(parser, args)
    holds_dir = Path(tempfile.mkdtemp(prefix="srn-chain-bench-"))
    from django.db import connection

    from tests import processes

    try:
        env["CHAIN_BENCH_HOLDS"] = str(holds_dir)
        with processes.daphnes(args.workers, env=env, app="bench.chain_asgi:application") as ports:
            headers, path = reader(ports[0], password, referral)
            _servers.load(ports, headers, path, args.clients, WARMUP)
            for stale in holds_dir.iterdir():
                stale.unlink()  # the warm-up's sealings
            reads, elapsed = _servers.load(ports, headers, path, args.clients, seconds)
        sealings = [
            tuple(float(value) for value in line.split())
            for held in holds_dir.iterdir()
            for line in held.read_text().splitlines()
        ]
        intact, entries = chain_intact()
    finally:
        shutil.rmtree(holds_dir, ignore_errors=True)
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
    assert sealings, "no sealing was timed"
    held = [sealing[0] * 1000 for sealing in sealings]
    waited = [sealing[1] * 1000 for sealing in sealings]
    sealed = sum(sealing[2] for sealing in sealings)
    in_sql = [sealing[3] * 1000 for sealing in sealings]
    statements = percentile([sealing[4] for sealing in sealings], 0.5)
    moved = sum(1 for sealing in sealings if sealing[5] > 1)
    print(
        f"chain_bench: {connection.vendor}, {args.workers} Daphne(s), {args.clients} clients, "
        f"{seconds:g} s, nproc={os.cpu_count()}\n"
        f"  audited reads: {reads} ({reads / elapsed:.0f}/s)\n"
        f"  sealings: {len(sealings)}, {sealed} entries"
        f" ({sealed / len(sealings):.1f} per sealing)\n"
        f"  chain-head lock held ms: p50 {percentile(held, 0.5):.2f}  p99 "
        f"{percentile(held, 0.99):.2f}  max {max(held):.2f}\n"
        f"  of which in SQL ms:      p50 {percentile(in_sql, 0.5):.2f}  p99 "
        f"{percentile(in_sql, 0.99):.2f}  ({statements:.0f} statements, p50)\n"
        f"  waited for it ms:        p50 {percentile(waited, 0.5):.2f}  p99 "
        f"{percentile(waited, 0.99):.2f}  (from the sealing's start: its read included)\n"
        f"  head moved after the read: {moved} of {len(sealings)} sealings\n"
        f"  chain afterwards: {entries} entries, intact and all sealed: {intact}\n"
        f"  load average: {' '.join(f'{load:.1f}' for load in os.getloadavg())}"
    )
    finish(
        {
            "lock_hold_p50_ms": f"{percentile(held, 0.5):.2f}",
            "lock_hold_p99_ms": f"{percentile(held, 0.99):.2f}",
            "in_sql_p50_ms": f"{percentile(in_sql, 0.5):.2f}",
            "clients": args.clients,
            "workers": args.workers,
            "sealings": len(sealings),
            "head_moved": moved,
            "entries_per_sealing": f"{sealed / len(sealings):.1f}",
            "reads_per_s": f"{reads / elapsed:.0f}",
        },
        intact,
    )


if __name__ == "__main__":
    main()
