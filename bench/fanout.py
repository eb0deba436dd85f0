"""Fan-out benchmark: commit-to-receipt latency of live events on one Daphne process.

    .venv/bin/python bench/fanout.py [--sockets 100 500 1000] [--changes 20] [--quick]

For each N it opens N WebSockets (caseworker sessions of the recipient agency, so every
event reaches every socket), makes a stream of status changes through the REST API of
the same Daphne (one at a time: the next once every socket has the last) and prints
the p50/p99 latency from the event's timestamp (stamped in the transaction that
commits it) to its receipt. Next to it, the baseline measured in the same run: a bare
Channels consumer echoing through ``group_send`` to N sockets on a second Daphne of
the same settings — the cost of Channels itself. The ratio is what the outbox read,
the access rule and the credential re-check add per delivery.

The embedded profile (a throwaway SQLite file, in-memory channel layer) is the
default. With SRN_PROFILE=production and its environment it runs against the given
PostgreSQL and Redis, which must be throwaway: pass --throwaway-database to confirm.
Everything runs on 127.0.0.1; every wait is bounded.

It also prints the service Daphne's resident memory per idle socket (after the N
sockets have said hello, before the first change), and ends with one machine-readable
line for the largest N: ``RESULT fanout_p50_ratio=<x> fanout_p99_ratio=<y> sockets=<N>
load=<1-minute load average before that N>``.
``--quick`` (100 and 300 sockets, 20 changes) takes under two minutes embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _servers  # noqa: E402
from bench._servers import percentile  # noqa: E402

WAIT = 120  # seconds: the longest any one step may take


def daphne_rss(port: int) -> int | None:
    """Resident bytes of the Daphne serving ``port`` (from Linux's /proc), else None."""
    wanted = str(port).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
            # ``daphne`` is a script: argv is the interpreter, then its path.
            if not any(arg.endswith(b"/daphne") for arg in argv[:2]) or wanted not in argv:
                continue
            status = (cmdline.parent / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def seed() -> dict:
    """Two agencies, a consented referral in progress, a caseworker token."""

    from django.contrib.auth import get_user_model

    from agencies import services as agency_services
    from agencies.models import Agency, AgencyKind, Membership, Role
    from consent import services as consent_services
    from coordination import services

    suffix = str(int(time.time() * 1000))
    police = Agency.objects.create(
        slug=f"bench-police-{suffix}", name="P", kind=AgencyKind.LAW_ENFORCEMENT
    )
    shelter = Agency.objects.create(
        slug=f"bench-shelter-{suffix}", name="S", kind=AgencyKind.SHELTER
    )
    users = get_user_model().objects
    liaison = Membership.objects.create(
        user=users.create_user(f"bench-liaison-{suffix}"), agency=police, role=Role.LIAISON
    )
    caseworker = Membership.objects.create(
        user=users.create_user(f"bench-caseworker-{suffix}"), agency=shelter, role=Role.CASEWORKER
    )
    survivor = consent_services.survivor_create(actor=liaison, data={"given_name": "bench"})
    _servers.consent_recorded(liaison, survivor, shelter, ["identity", "status_updates"])
    referral = services.referral_create(
        actor=liaison,
        survivor_id=survivor.id,
        recipients=[shelter.id],
        needs=["shelter"],
        urgency="routine",
    )
    for action in ("accept", "start"):
        services.referral_transition(actor=caseworker, referral_id=referral.id, action=action)
    _, token = agency_services.token_issue(member=caseworker)
    return {"caseworker": caseworker, "referral": referral.id, "token": token, "next": "hold"}


def sessions_for(user, count: int) -> list[str]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for _ in range(count):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    return keys


async def open_sockets(urls_headers, hello: dict | None, limit: int = 20) -> list:
    # At most ``limit`` handshakes in flight per client process: the service's pass
    # one at a time through its sync thread (membership, audit entry), and Daphne
    # refuses one not accepted within 5 s (403): at load ~5, 100 in flight did.
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(limit)

    async def one(url, headers, origin):
        async with gate:
            socket = await connect(
                url, origin=origin, additional_headers=headers, open_timeout=WAIT, max_queue=None
            )
            if hello is not None:
                await socket.send(json.dumps(hello))
                while json.loads(await asyncio.wait_for(socket.recv(), WAIT))["type"] != "ready":
                    pass
            return socket

    return await asyncio.gather(*(one(*args) for args in urls_headers))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reader(conn, targets: list, hello: dict | None, service: bool) -> None:
    """One client process: open its share of the sockets, report each complete round
    of messages to the parent, and at "stop" hand back its latencies and CPU time."""
    asyncio.run(_read(conn, targets, hello, service))


async def _read(conn, targets: list, hello: dict | None, service: bool) -> None:
    sockets = await open_sockets(targets, hello)
    share, samples = len(sockets), []
    conn.send(("open", share))
    cpu, wall = cpu_seconds(), time.perf_counter()

    async def listen(socket):
        with contextlib.suppress(Exception):
            async for raw in socket:
                message = json.loads(raw)
                if service and message["type"] not in ("event", "heartbeat"):
                    print("unexpected", message, file=sys.stderr)
                if service and message["type"] != "event":
                    continue
                if service:
                    stamped = datetime.fromisoformat(message["at"]).timestamp()
                else:
                    stamped = message["t"]
                samples.append(time.time() - stamped)
                if len(samples) % share == 0:
                    conn.send(("round", len(samples) // share))
        if socket.close_code not in (None, 1000):
            print("socket closed", socket.close_code, socket.close_reason, file=sys.stderr)

    listeners = [asyncio.create_task(listen(socket)) for socket in sockets]
    await asyncio.to_thread(conn.recv)  # "stop"
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    for socket in sockets:
        await socket.close()
    for task in listeners:
        task.cancel()
    conn.send(("done", samples, cpu, wall))


class Readers:
    """The sockets spread over ``processes`` client processes, so that reading them is
    not the bottleneck; ``wait_round(k)`` returns once every socket has k messages."""

    def __init__(self, targets: list, hello: dict | None, *, service: bool, processes: int):
        context = multiprocessing.get_context("spawn")
        shares = [targets[i::processes] for i in range(processes) if targets[i::processes]]
        self.pipes, self.procs = [], []
        for share in shares:
            parent, child = context.Pipe()
            proc = context.Process(target=reader, args=(child, share, hello, service))
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for pipe in self.pipes:
            self._expect(pipe, "open")
        self.rounds = [0] * len(self.pipes)

    @staticmethod
    def _expect(pipe, kind: str):
        if not pipe.poll(WAIT):
            raise TimeoutError(f"no {kind!r} from a client process in {WAIT} s")
        message = pipe.recv()
        if message[0] != kind:
            raise RuntimeError(f"expected {kind!r} from a client process, got {message[0]!r}")
        return message

    def wait_round(self, k: int) -> None:
        for i, pipe in enumerate(self.pipes):
            while self.rounds[i] < k:
                self.rounds[i] = self._expect(pipe, "round")[1]

    def finish(self) -> dict:
        """Stop the readers: every latency, and each reader's CPU use while it read (as
        a share of one core over its reading time)."""
        for pipe in self.pipes:
            pipe.send("stop")
        done = [self._expect(pipe, "done") for pipe in self.pipes]
        for proc in self.procs:
            proc.join(WAIT)
        return {
            "samples": [sample for d in done for sample in d[1]],
            "client_cpu": [d[2] / d[3] for d in done if d[3] > 0],
        }


def bench_service(
    port: int, world: dict, count: int, changes: int, origin: str, processes: int
) -> dict:
    keys = sessions_for(world["caseworker"].user, count)
    rss_before = daphne_rss(port)
    started = time.perf_counter()
    url = f"ws://127.0.0.1:{port}/ws/v1/events/"
    readers = Readers(
        [(url, {"Cookie": f"sessionid={k}"}, origin) for k in keys],
        {"type": "hello", "after": head(world["caseworker"])},
        service=True,
        processes=processes,
    )
    connect_seconds = time.perf_counter() - started
    time.sleep(1)  # let the hellos' work settle: measure idle sockets
    rss_after = daphne_rss(port)
    per_socket = None
    if rss_before is not None and rss_after is not None:
        per_socket = (rss_after - rss_before) / count
    for k in range(changes):
        action = world["next"]
        world["next"] = "start" if action == "hold" else "hold"
        body = {"action": action, **({"reason": "bench"} if action == "hold" else {})}
        transition(port, world, body)
        readers.wait_round(k + 1)
    return {**readers.finish(), "connect_seconds": connect_seconds, "bytes_per_socket": per_socket}


def bench_baseline(port: int, count: int, changes: int, origin: str, processes: int) -> dict:
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{port}/echo/"
    readers = Readers([(url, {}, origin)] * count, None, service=False, processes=processes)
    with connect(url, origin=origin, open_timeout=WAIT, max_queue=None) as sender:
        for k in range(changes):
            sender.send(json.dumps({"t": time.time(), "k": k}))
            readers.wait_round(k + 1)
    return readers.finish()


def head(member) -> int:
    from coordination.event_stream import head_seq

    return head_seq(member.agency_id)


def transition(port: int, world: dict, body: dict) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/referrals/{world['referral']}/transitions/",
        method="POST",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {world['token']}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",
        },
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:  # noqa: S310
        assert response.status == 200, response.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--throwaway-database", action="store_true")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=max(2, os.cpu_count() or 1),
        help="processes the reading sockets are spread over (default: the CPUs, at least 2)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100 and 300 sockets, 20 changes (under 2 min)"
    )
    args = parser.parse_args()
    if args.quick:
        args.sockets, args.changes = [100, 300], 20
    production = os.environ.get("SRN_PROFILE") == "production"
    if production and not args.throwaway_database:
        parser.error("the production profile writes to DATABASE_URL: pass --throwaway-database")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(args.sockets) * 2 + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))

    _servers.setup_django(production)
    from django.conf import settings

    from tests import processes

    world = seed()
    origin = settings.WEBSOCKET_ALLOWED_ORIGINS[0]
    env = {"SRN_DATA_DIR": os.environ.get("SRN_DATA_DIR", ""), "LOG_LEVEL": "WARNING"}
    profile = "production (PostgreSQL, Redis)" if production else "embedded (SQLite, in-memory)"
    procs = args.client_processes
    print(
        f"fan-out on one Daphne per side, {profile} profile, {args.changes} changes per N, "
        f"sockets read by {procs} client processes, nproc={os.cpu_count()}"
    )
    print(
        f"{'N':>6} {'baseline p50/p99 ms':>22} {'service p50/p99 ms':>22} "
        f"{'ratio p50':>10} {'ratio p99':>10} {'connect s':>10} {'KiB/idle socket':>16} "
        f"{'client CPU base/svc':>20} {'load':>5}"
    )
    result = ""
    with (
        processes.daphnes(1, env=env) as (service_port,),
        processes.daphnes(1, env=env, app="bench.echo_asgi:application") as (echo_port,),
    ):
        for count in args.sockets:
            load = os.getloadavg()[0]  # the machine is shared: what else ran meanwhile
            base = bench_baseline(echo_port, count, args.changes, origin, procs)
            srn = bench_service(service_port, world, count, args.changes, origin, procs)
            b50, b99 = (percentile(base["samples"], q) * 1000 for q in (0.5, 0.99))
            s50, s99 = (percentile(srn["samples"], q) * 1000 for q in (0.5, 0.99))
            memory = srn["bytes_per_socket"]
            memory = f"{memory / 1024:>16.1f}" if memory is not None else f"{'n/a':>16}"
            # The busiest client process's CPU while reading, as a share of one core:
            # near 100% would make the clients, not the server, the bottleneck.
            cpu = f"{max(base['client_cpu']):.0%} / {max(srn['client_cpu']):.0%}"
            print(
                f"{count:>6} {b50:>10.1f} / {b99:>9.1f} {s50:>10.1f} / {s99:>9.1f} "
                f"{s50 / b50:>10.1f} {s99 / b99:>10.1f} {srn['connect_seconds']:>10.1f} "
                f"{memory} {cpu:>20} {load:>5.2f}",
                flush=True,
            )
            result = (
                f"RESULT fanout_p50_ratio={s50 / b50:.2f} fanout_p99_ratio={s99 / b99:.2f} "
                f"sockets={count} load={load:.2f}"
            )
    print(result, flush=True)


if __name__ == "__main__":
    main()
