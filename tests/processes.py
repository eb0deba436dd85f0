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


def database_urls(settings_dict: dict) -> dict[str, str]:
    """DATABASE_URL for a Django database (the test database, say) and
    KEYS_DATABASE_URL for the key store's test database beside it."""
    from django.db import connections

    return {
        "DATABASE_URL": database_url(settings_dict),
        "KEYS_DATABASE_URL": database_url(connections["keys"].settings_dict),
    }


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


def served_database_env(settings_dict: dict, workdir: Path) -> dict[str, str]:
    """Environment for a Daphne that serves the test database of either profile.

    Production: the test database's URL. Embedded: a data dir in ``workdir`` whose
    ``db.sqlite3`` links to the test database (SQLite follows the link, WAL and all)
    and whose local secrets are this process's, so both read each other's ciphertext.
    """
    from django.conf import settings
    from django.db import connections

    keys = connections["keys"].settings_dict
    if settings.PRODUCTION:
        return {
            "DATABASE_URL": database_url(settings_dict),
            "KEYS_DATABASE_URL": database_url(keys),
        }
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "db.sqlite3").symlink_to(Path(settings_dict["NAME"]).resolve())
    (workdir / "keys.sqlite3").symlink_to(Path(keys["NAME"]).resolve())
    secrets = Path(settings.DATA_DIR) / "local-secrets.json"
    (workdir / "local-secrets.json").write_bytes(secrets.read_bytes())
    return {"SRN_DATA_DIR": str(workdir)}


class Daphne:
    """One Daphne process on a fixed loopback port that a test may kill (SIGKILL, no
    goodbye) and start again on the same port."""

    def __init__(self, *, env: dict[str, str], app: str = "srn.asgi:application") -> None:
        self.port = free_port()
        self.env, self.app = env, app
        self.process: subprocess.Popen | None = None
        keep = os.environ.get("SRN_DAPHNE_LOG_DIR")  # to read a run's server logs
        self.log = (
            open(Path(keep) / f"daphne-{self.port}.log", "w+b")  # noqa: SIM115
            if keep
            else tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        )

    def start(self, *, wait: bool = True) -> None:
        self.process = subprocess.Popen(
            [str(DAPHNE), "-b", "127.0.0.1", "-p", str(self.port), self.app],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_healthy()

    def wait_healthy(self, *, timeout: float = 30) -> None:
        assert self.process is not None
        wait_healthy(self.port, self.process, self.log, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: requests in flight die with the process, mid-transaction or not."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self) -> str:
        return _tail(self.log)

    def close(self) -> None:
        self.stop()
        self.log.close()


@contextlib.contextmanager
def daphne_group(count: int, *, env: dict[str, str]) -> Iterator[list[Daphne]]:
    """``count`` started ``Daphne`` handles (killable, restartable); all stopped after."""
    group = [Daphne(env=env) for _ in range(count)]
    try:
        for daphne in group:
            daphne.start(wait=False)
        for daphne in group:
            daphne.wait_healthy()
        yield group
    finally:
        for daphne in group:
            daphne.close()
