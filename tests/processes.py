"""Real Daphne processes of this project on loopback, for the scale-out test and the
fan-out benchmark. Bounded waits; the caller stops what it starts."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAPHNE = Path(sys.executable).with_name("daphne")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """The DATABASE_URL of a Django database (the test database, say)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    return (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@"
        f"{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )


def _tail(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-2000:]


def wait_healthy(port: int, process: subprocess.Popen, log, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/healthz"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne on {port} exited ({process.returncode}):\n{_tail(log)}")
        with contextlib.suppress(OSError):
            request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise TimeoutError(f"daphne on {port} not healthy within {timeout} s:\n{_tail(log)}")


@contextlib.contextmanager
def daphnes(
    count: int, *, env: dict[str, str], app: str = "srn.asgi:application"
) -> Iterator[list[int]]:
    """Start ``count`` Daphne processes serving ``app`` on free loopback ports; yield
    their ports. ``app`` must answer ``/healthz``."""
    processes: list[subprocess.Popen] = []
    ports, logs = [], []
    try:
        for _ in range(count):
            port = free_port()
            keep = os.environ.get("SRN_DAPHNE_LOG_DIR")  # to read a run's server logs
            logs.append(
                open(Path(keep) / f"daphne-{port}.log", "w+b")  # noqa: SIM115
                if keep
                else tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally)
            )
            process = subprocess.Popen(
                [str(DAPHNE), "-b", "127.0.0.1", "-p", str(port), app],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=logs[-1],
                stderr=subprocess.STDOUT,
            )
            processes.append(process)
            ports.append(port)
        for port, process, log in zip(ports, processes, logs, strict=True):
            wait_healthy(port, process, log)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for log in logs:
            log.close()
