"""Read benchmark: the service's audited referral read against a bare DRF app of the
same shape (``bench/bare/``), both under Daphne on 127.0.0.1.

    .venv/bin/python bench/read_bench.py [--quick]
    SRN_PROFILE=production DATABASE_URL=… REDIS_URL=… (and the other production variables) \\
      .venv/bin/python bench/read_bench.py --throwaway-database

Measured interleaved (service, bare, service, bare…) in one run, so both see the same
machine; the figures are ratios against that baseline, never thresholds:

- the referral detail read, p50 and p99, as a caseworker of the recipient agency under
  an active consent (``GET /api/v1/referrals/{id}/`` with a token from
  ``POST /api/v1/auth/token/``) against the bare ``RetrieveAPIView``;
- a note POST and a transition POST (hold / start, alternating) against the bare
  ``CreateAPIView``, p50;
- throughput of detail reads from 8 concurrent keep-alive client threads, by windows;
- SQL statements per request, counted in-process (Django's test client and
  ``CaptureQueriesContext``, SAVEPOINT/RELEASE statements not counted) on a throwaway
  test database: a detail read (first, which marks the referral received, and
  repeated), a referral list page of 5 and of 50, a note and a transition — each
  request's own statements, its audit entry's sealing deferred (``audit.sealer``
  batches it per window) and one sealing counted apart;
- where a detail read's and a note POST's time goes, by timing their stages in-process.

The last line is ``RESULT detail_p50_ratio=… detail_p99_ratio=… detail_queries=…
list_queries=… throughput8_ratio=… write_p50_ratio=…``. Every loop is bounded.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _servers
from bench._read_stages import print_stages, stage_times, statements, write_stage_times
from bench._servers import Loopback, percentile

CLIENTS = 8
PLANS = {
    # reads: detail pairs; writes: (note, bare note, transition) triples; rounds and
    # window: throughput windows per side; phase: the time limit of each phase.
    "full": {"reads": 1000, "writes": 300, "rounds": 6, "window": 4.0, "phase": 300.0},
    "quick": {"reads": 200, "writes": 60, "rounds": 2, "window": 2.0, "phase": 40.0},
}
WARMUP = 20
LIST_SIZE = 50
BARE_USER = "bench-caseworker"
CASEWORKER = "shelter.worker"  # seed_demo's caseworker of the shelter


# --- seeding ----------------------------------------------------------------------------


def seed_service(password: str, *, survivors: int = 1, referrals: int = 2) -> dict:
    """seed_demo's agencies and users; ``survivors`` survivors of the police liaison,
    each under an active consent to the shelter; ``referrals`` referrals of them (in
    turn) to the shelter."""
    from django.core.management import call_command

    from agencies.models import Agency, Membership
    from consent import services as consent_services
    from coordination import services

    call_command("seed_demo", password=password, stdout=io.StringIO())
    liaison = Membership.objects.select_related("agency", "user").get(user__username="liaison")
    shelter = Agency.objects.get(slug="safe-harbor")
    consented = []
    for n in range(survivors):
        survivor = consent_services.survivor_create(
            actor=liaison,
            data={"given_name": "Bench", "family_name": f"Reader {n}", "phone": "+10000000000"},
        )
        categories = ["identity", "contact", "narrative", "status_updates", "case_notes"]
        _servers.consent_recorded(liaison, survivor, shelter, categories)
        consented.append(survivor)
    made = [
        services.referral_create(
            actor=liaison,
            survivor_id=consented[n % survivors].id,
            recipients=[shelter.id],
            needs=["shelter"],
            urgency="routine",
            narrative="bench",
        )
        for n in range(referrals)
    ]
    return {"referrals": [str(r.id) for r in made]}


def bare_env(production: bool) -> dict[str, str]:
    """The bare project's database: SQLite in a temp dir, or (production) a throwaway
    PostgreSQL database next to the service's, created here."""
    env = {"DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
    env["BARE_DATA_DIR"] = tempfile.mkdtemp(prefix="srn-bench-bare-")
    if production:
        from django.db import connection

        from tests.processes import database_url

        name = f"{connection.settings_dict['NAME']}_bare_bench"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        env["BARE_DATABASE_URL"] = database_url({**connection.settings_dict, "NAME": name})
    return env


def drop_bare_database(env: dict[str, str]) -> None:
    if "BARE_DATABASE_URL" in env:
        from django.db import connection

        name = env["BARE_DATABASE_URL"].rsplit("/", 1)[1]
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bare_command(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-m", "django", *args, "--settings=bench.bare.settings"],
        cwd=_servers.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=_servers.WAIT,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- over HTTP --------------------------------------------------------------------------


def token(port: int, path: str, username: str, password: str, field: str) -> str:
    status, body, _ = Loopback(port).call(
        "POST", path, {"username": username, "password": password}
    )
    assert status == 200, f"token: {status}"
    return body[field]


def expect(client: Loopback, method: str, path: str, status: int, body=None) -> float:
    got, _, seconds = client.call(method, path, body)
    assert got == status, f"{method} {path}: {got}"
    return seconds


def interleaved(calls: dict, count: int, limit: float) -> dict[str, list[float]]:
    """Each call in turn, ``count`` times or until ``limit`` seconds have passed."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    deadline = time.monotonic() + limit
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        for name, call in calls.items():
            samples[name].append(call())
    return samples


def throughput(port: int, headers: dict, path: str, window: float) -> tuple[int, float]:
    """Detail reads from CLIENTS threads, each on its own keep-alive connection, for
    ``window`` seconds: (requests answered 200, seconds until the last one)."""
    return _servers.load([port], headers, path, CLIENTS, window)


def over_http(plan: dict, ports: tuple[int, int], world: dict, bare: dict, pw: dict) -> dict:
    service_port, bare_port = ports
    svc_token = token(service_port, "/api/v1/auth/token/", CASEWORKER, pw["service"], "token")
    bare_token = token(bare_port, "/api/auth/token/", BARE_USER, pw["bare"], "token")
    svc_headers = {"Authorization": f"Bearer {svc_token}"}
    bare_headers = {"Authorization": f"Token {bare_token}"}
    svc, base = Loopback(service_port, svc_headers), Loopback(bare_port, bare_headers)
    read, write = world["referrals"]
    svc_detail = f"/api/v1/referrals/{read}/"
    bare_detail = f"/api/referrals/{bare['referral']}/"
    expect(svc, "GET", svc_detail, 200)  # the first read marks it received
    for action in ("accept", "start"):
        expect(svc, "POST", f"/api/v1/referrals/{write}/transitions/", 200, {"action": action})
    for _ in range(WARMUP):
        expect(svc, "GET", svc_detail, 200)
        expect(base, "GET", bare_detail, 200)
        expect(svc, "POST", f"/api/v1/referrals/{write}/notes/", 201, {"text": "warm"})
        expect(base, "POST", f"{bare_detail}notes/", 201, {"text": "warm"})

    reads = interleaved(
        {
            "service": lambda: expect(svc, "GET", svc_detail, 200),
            "bare": lambda: expect(base, "GET", bare_detail, 200),
        },
        plan["reads"],
        plan["phase"],
    )
    moves = iter(
        [{"action": "hold", "reason": "bench"}, {"action": "start"}] * (plan["writes"] // 2 + 1)
    )
    writes = interleaved(
        {
            "note": lambda: expect(
                svc, "POST", f"/api/v1/referrals/{write}/notes/", 201, {"text": "bench note"}
            ),
            "bare": lambda: expect(base, "POST", f"{bare_detail}notes/", 201, {"text": "bench"}),
            "transition": lambda: expect(
                svc, "POST", f"/api/v1/referrals/{write}/transitions/", 200, next(moves)
            ),
        },
        plan["writes"],
        plan["phase"],
    )
    svc.close()
    base.close()

    totals = {"service": [0, 0.0], "bare": [0, 0.0]}
    deadline = time.monotonic() + plan["phase"]
    for _ in range(plan["rounds"]):
        if time.monotonic() > deadline:
            break
        for side, port, headers, path in (
            ("service", service_port, svc_headers, svc_detail),
            ("bare", bare_port, bare_headers, bare_detail),
        ):
            count, seconds = throughput(port, headers, path, plan["window"])
            totals[side][0] += count
            totals[side][1] += seconds
    return {
        "reads": reads,
        "writes": writes,
        "throughput": {side: count / seconds for side, (count, seconds) in totals.items()},
    }


# --- in-process: SQL statements and stages ------------------------------------------------


def in_process(password: str, profile_reads: int, profile_writes: int) -> dict:
    """On a throwaway test database: SQL statements per request and the stages of a
    repeated detail read and of a note POST."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from agencies import services as agency_services
    from agencies.models import Membership
    from audit import sealer

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        world = seed_service(password, survivors=LIST_SIZE + 2, referrals=LIST_SIZE + 2)
        member = Membership.objects.select_related("agency", "user").get(user__username=CASEWORKER)
        _, key = agency_services.token_issue(member=member)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        first, write = world["referrals"][:2]
        counts = {}
        window, sealer.WINDOW = sealer.WINDOW, 3600.0  # every count's sealing deferred

        def count(name, method, path, status, body=None, expect_items=None):
            # The request's own statements: the sealing that follows its commit is
            # batched (audit.sealer.WINDOW) and counted apart, as "sealing".
            sealer.flush()
            with CaptureQueriesContext(connection) as context:
                if method == "GET":
                    response = client.get(path, secure=True)
                else:
                    response = client.post(path, body, content_type="application/json", secure=True)
            assert response.status_code == status, (name, response.status_code)
            if expect_items is not None:
                assert len(response.json()["results"]) == expect_items, name
            counts[name] = statements(context)

        detail = f"/api/v1/referrals/{first}/"
        count("detail_first", "GET", detail, 200)
        count("detail", "GET", detail, 200)
        count("list5", "GET", "/api/v1/referrals/?page_size=5", 200, expect_items=5)
        count(
            "list50",
            "GET",
            f"/api/v1/referrals/?page_size={LIST_SIZE}",
            200,
            expect_items=LIST_SIZE,
        )
        count("note", "POST", f"/api/v1/referrals/{write}/notes/", 201, {"text": "counted"})
        count(
            "transition",
            "POST",
            f"/api/v1/referrals/{write}/transitions/",
            200,
            {"action": "accept"},
        )
        count("detail_again", "GET", detail, 200)
        with CaptureQueriesContext(connection) as context:
            assert len(sealer.flush()) == 1
        counts["sealing"] = statements(context)
        sealer.WINDOW = window
        stages = stage_times(client, detail, profile_reads)
        notes = f"/api/v1/referrals/{write}/notes/"
        writes = write_stage_times(client, notes, {"text": "timed"}, profile_writes)
        return {"counts": counts, "stages": stages, "write_stages": writes}
    finally:
        sealer.flush()
        connection.creation.destroy_test_db(old_name, verbosity=0)


# --- report -----------------------------------------------------------------------------


def report(mode: str, production: bool, http: dict, local: dict, bare_counts: dict) -> str:
    reads, writes, rate = http["reads"], http["writes"], http["throughput"]
    ms = {
        name: {q: percentile(values, q) * 1000 for q in (0.5, 0.99)}
        for name, values in {**reads, **{f"w_{k}": v for k, v in writes.items()}}.items()
    }
    counts = {name: n for name, (n, _) in local["counts"].items()}
    profile = "production (PostgreSQL, Redis)" if production else "embedded (SQLite WAL)"
    print(
        f"read_bench, {mode}, {profile} profile, nproc={os.cpu_count()}, {date.today()}, "
        f"{len(reads['service'])} read pairs, {len(writes['note'])} write triples"
    )
    print(f"{'what':<50} {'service':>10} {'bare':>10} {'ratio':>7}")

    def row(what: str, service: float, bare: float | None, digits: int = 1) -> None:
        ratio = f"{service / bare:>7.2f}" if bare else f"{'':>7}"
        shown = f"{bare:>10.{digits}f}" if bare is not None else f"{'-':>10}"
        print(f"{what:<50} {service:>10.{digits}f} {shown} {ratio}")

    row("detail read p50 ms", ms["service"][0.5], ms["bare"][0.5])
    row("detail read p99 ms", ms["service"][0.99], ms["bare"][0.99])
    row("note POST p50 ms (bare: note create)", ms["w_note"][0.5], ms["w_bare"][0.5])
    row("transition POST p50 ms (bare: note create)", ms["w_transition"][0.5], ms["w_bare"][0.5])
    row(f"detail reads/s, {CLIENTS} concurrent clients", rate["service"], rate["bare"])
    row("SQL statements: detail read (repeat)", counts["detail"], bare_counts["detail"], 0)
    row("SQL statements: detail read (first: marks received)", counts["detail_first"], None, 0)
    row("SQL statements: list page of 5", counts["list5"], None, 0)
    row(f"SQL statements: list page of {LIST_SIZE}", counts["list50"], None, 0)
    row("SQL statements: note POST", counts["note"], bare_counts["note"], 0)
    row("SQL statements: transition POST", counts["transition"], None, 0)
    row("SQL statements: one sealing (a batch; here 1 entry)", counts["sealing"], None, 0)
    print("(SQL statements counted in-process, SAVEPOINT/RELEASE not counted; by kind:)")
    for name, (_, kinds) in local["counts"].items():
        print(f"  {name:<14} " + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())))
    print_stages("a repeated detail read's", "read", local["stages"])
    print(f"  {'bare app: total (in-process, same client)':<58} {bare_counts['detail_ms']:>7.2f}")
    print_stages("a note POST's", "write", local["write_stages"])
    return (
        f"RESULT detail_p50_ratio={ms['service'][0.5] / ms['bare'][0.5]:.2f} "
        f"detail_p99_ratio={ms['service'][0.99] / ms['bare'][0.99]:.2f} "
        f"detail_queries={counts['detail']} "
        f"list_queries={max(counts['list5'], counts['list50'])} "
        f"throughput8_ratio={rate['service'] / rate['bare']:.2f} "
        f"write_p50_ratio={ms['w_note'][0.5] / ms['w_bare'][0.5]:.2f}"
    )


def main() -> None:
    mode, production = _servers.bench_arguments(
        __doc__.split("\n\n")[0], "fewer repetitions (< 2 min)"
    )
    plan = PLANS[mode]

    data_dir = _servers.setup_django(production)
    from tests import processes

    pw = {"service": secrets.token_urlsafe(16), "bare": secrets.token_urlsafe(16)}
    world = seed_service(pw["service"])
    bare = bare_env(production)
    try:
        user, password = f"--username={BARE_USER}", f"--password={pw['bare']}"  # "-…" safe
        seeded = bare_command(bare, "bare_seed", user, password)
        service_env = {"LOG_LEVEL": "WARNING"}
        if data_dir is not None:
            service_env["SRN_DATA_DIR"] = str(data_dir)
        with (
            processes.daphnes(1, env=service_env) as (service_port,),
            processes.daphnes(1, env=bare, app="bench.bare.asgi:application") as (bare_port,),
        ):
            http = over_http(plan, (service_port, bare_port), world, seeded, pw)
        bare_counts = bare_command(
            bare, "bare_queries", "--username", BARE_USER, "--reads", str(plan["reads"] // 4)
        )
    finally:
        drop_bare_database(bare)
    try:
        local = in_process(pw["service"], plan["reads"] // 4, plan["writes"])
    finally:
        for path in (data_dir, bare["BARE_DATA_DIR"]):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
    print(report(mode, production, http, local, bare_counts), flush=True)


if __name__ == "__main__":
    main()
