"""What the benchmarks that drive Daphne processes over loopback share: the profile's
Django setup, percentiles, and a keep-alive HTTP/1.1 client that only talks to
127.0.0.1. Self-contained (imports nothing from the other scripts); the Daphne
processes themselves are started by ``tests.processes.daphnes``."""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LOOPBACK = "127.0.0.1"
WAIT = 120  # seconds: the longest any one request or step may take
# The production profile redirects plain HTTP; the proxy in front says TLS ended there.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# The statement every benchmark consent carries: a written one, in English, by the
# survivor (what ``consent.inputs`` asks of a real one).
WRITTEN_STATEMENT = {
    "method": "written",
    "evidence_sha256": "ab" * 32,
    "language": "en",
    "interpreter_used": False,
    "notice_version": "bench",
    "services_not_conditional": True,
    "signed_by": "survivor",
}


def consent_recorded(liaison, survivor, recipient, categories: list[str]):
    """The survivor's consent (``WRITTEN_STATEMENT``) to ``recipient`` for
    ``categories``, for 30 days, recorded by their agency's ``liaison``."""
    from datetime import timedelta

    from django.utils import timezone

    from coordination import services

    expires_at = timezone.now() + timedelta(days=30)
    return services.consent_record(
        actor=liaison,
        survivor_id=survivor.id,
        recipients=[recipient.id],
        categories=categories,
        expires_at=expires_at,
        **WRITTEN_STATEMENT,
    )


def production_profile() -> bool:
    return os.environ.get("SRN_PROFILE") == "production"


def bench_arguments(description: str, quick_help: str) -> tuple[str, bool]:
    """The arguments every database benchmark takes (``--quick``,
    ``--throwaway-database``): its mode (``quick`` or ``full``) and whether it runs on
    the production profile (which must be told its database is throwaway)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--throwaway-database", action="store_true")
    args = parser.parse_args()
    production = production_profile()
    if production and not args.throwaway_database:
        parser.error("the production profile writes to DATABASE_URL: pass --throwaway-database")
    return ("quick" if args.quick else "full"), production


def setup_django(production: bool) -> Path | None:
    """Set up the service's Django in this process and migrate its database: a fresh
    SQLite file in a temp dir (embedded; its directory is returned), or the given
    PostgreSQL (production; the caller has confirmed it is throwaway)."""
    data_dir = None
    if not production:
        data_dir = Path(tempfile.mkdtemp(prefix="srn-bench-"))
        os.environ["SRN_DATA_DIR"] = str(data_dir)
        for name in ("SRN_PROFILE", "DATABASE_URL", "REDIS_URL"):
            os.environ.pop(name, None)
    else:
        # The throwaway chain's signed checkpoints go to a file of the run's own (the
        # Daphnes inherit it), never to the deployment's export: one left there by an
        # earlier run, signed with another key, also failed the chain check afterwards.
        exports = Path(tempfile.mkdtemp(prefix="srn-bench-checkpoints-"))
        atexit.register(shutil.rmtree, exports, ignore_errors=True)
        os.environ["AUDIT_CHECKPOINT_EXPORT"] = str(exports / "audit-checkpoints.jsonl")
    os.environ["DJANGO_SETTINGS_MODULE"] = "srn.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("migrate", database="keys", verbosity=0)  # the survivors' data keys
    return data_dir


class Loopback:
    """One keep-alive HTTP/1.1 connection to a port on 127.0.0.1, with default headers.

    ``call`` returns (status, parsed JSON body or None, seconds for the round trip).
    A connection the server closed while idle is reopened once.
    """

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.headers = {"Accept": "application/json", **PROXY_HEADERS, **(headers or {})}
        self._connection: http.client.HTTPConnection | None = None

    def _open(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=WAIT)
        return self._connection

    def call(self, method: str, path: str, body: dict | None = None):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            connection = self._open()
            started = time.perf_counter()
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            parsed = json.loads(raw) if raw and raw[:1] in (b"{", b"[") else None
            return response.status, parsed, seconds
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def load(ports: list[int], headers: dict, path: str, clients: int, seconds: float):
    """GETs of ``path`` from ``clients`` threads for ``seconds``, client k on its own
    keep-alive connection to ``ports[k % len(ports)]`` (no balancer: each Daphne gets
    its share of the clients). Returns (requests answered 200, seconds until the last
    one); any other answer or a connection error fails the run."""
    import threading

    done = [0] * clients
    failures: list[str] = []
    started = time.perf_counter()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        http = Loopback(ports[k % len(ports)], headers)
        try:
            while time.monotonic() < stop:
                status, _, _ = http.call("GET", path)
                if status != 200:
                    failures.append(str(status))
                    return
                done[k] += 1
        except OSError as error:
            failures.append(type(error).__name__)
        finally:
            http.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + WAIT)
    elapsed = time.perf_counter() - started
    assert not failures, f"load on {ports}: {failures[:3]}"
    return sum(done), elapsed
