"""Worker scaling: audited detail reads per second from 1, 2 and 4 Daphne processes.

    .venv/bin/python bench/scaling_bench.py --quick        # embedded (SQLite), ~1 min
    SRN_PROFILE=production DATABASE_URL=… REDIS_URL=… (and the other production variables) \\
      .venv/bin/python bench/scaling_bench.py --throwaway-database   # PostgreSQL + Redis

For each worker count, ``--rounds`` times in turn (1, 2, 4, 1, 2, 4, …): start the
Daphnes on loopback, let ``--clients`` (16) threads read one referral as a caseworker
under consent (``GET /api/v1/referrals/{id}/``, an audited read) for a warm-up, then
count the reads answered in ``--seconds``. Client k talks to Daphne k mod N (there is
no balancer). The client runs on the same machine and takes CPU too: the machine's
core count is printed beside the figures, which mean little where the workers have no
cores of their own.

Ends with ``RESULT workers_1_rps=… workers_2_rps=… workers_4_rps=… scaling_2=…
scaling_4=… clients=… chain_ok=… nproc=… database=…`` (the medians of the rounds).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _servers
from bench.chain_bench import WARMUP, chain_intact, finish, parse, prepare, reader

WORKERS = (1, 2, 4)


def main() -> None:
    parser = parse(__doc__.split("\n\n")[0], seconds=10.0, quick_seconds=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seconds, rounds = (4.0, 1) if args.quick else (args.seconds, args.rounds)
    env, data_dir, password, referral = prepare(parser, args)
    from django.db import connection

    from tests import processes

    rates: dict[int, list[float]] = {n: [] for n in WORKERS}
    try:
        for _ in range(rounds):
            for workers in WORKERS:
                with processes.daphnes(workers, env=env) as ports:
                    headers, path = reader(ports[0], password, referral)
                    _servers.load(ports, headers, path, args.clients, WARMUP)
                    reads, elapsed = _servers.load(ports, headers, path, args.clients, seconds)
                rates[workers].append(reads / elapsed)
                print(f"  {workers} Daphne(s): {reads / elapsed:7.1f} reads/s", flush=True)
        intact, entries = chain_intact()
    finally:
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
    rps = {n: statistics.median(values) for n, values in rates.items()}
    print(
        f"scaling_bench: {connection.vendor}, {args.clients} clients, {rounds} round(s) of "
        f"{seconds:g} s, nproc={os.cpu_count()}; chain afterwards: {entries} entries, "
        f"intact and all sealed: {intact}"
    )
    finish(
        {
            **{f"workers_{n}_rps": f"{rate:.1f}" for n, rate in rps.items()},
            "scaling_2": f"{rps[2] / rps[1]:.2f}",
            "scaling_4": f"{rps[4] / rps[1]:.2f}",
            "clients": args.clients,
        },
        intact,
    )


if __name__ == "__main__":
    main()
