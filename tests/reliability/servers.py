"""The production pass's PostgreSQL and Redis, stopped and started again as ``.ci/test``
started them (same ports, directories and users), for fault injection."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

NEEDED = (
    "SRN_TEST_PG_CTL",
    "SRN_TEST_PG_DATA",
    "SRN_TEST_PG_LOG",
    "SRN_TEST_REDIS_PORT",
    "SRN_TEST_REDIS_DIR",
    "SRN_TEST_REDIS_PIDFILE",
)


REDIS_CLI = shutil.which("redis-cli") or "redis-cli"
REDIS_SERVER = shutil.which("redis-server") or "redis-server"


def _as(user: str, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def _run(argv: list[str], *, timeout: float = 90) -> None:
    # The servers outlive this call: give them no pipe of ours to hold open.
    with tempfile.TemporaryFile() as errors:
        done = subprocess.run(
            argv, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=errors, timeout=timeout, check=False,
        )  # fmt: skip
        errors.seek(0)
        assert done.returncode == 0, f"{argv[0]} failed: {errors.read()[-2000:]!r}"


@dataclass(frozen=True)
class ServerHandles:
    pg_ctl: str
    pg_data: str
    pg_log: str
    pg_user: str
    redis_port: str
    redis_dir: str
    redis_pidfile: str
    redis_user: str

    @classmethod
    def from_env(cls) -> ServerHandles:
        missing = [name for name in NEEDED if not os.environ.get(name)]
        assert not missing, f"run the production pass through .ci/test (it exports {missing})"
        env = os.environ
        return cls(
            pg_ctl=env["SRN_TEST_PG_CTL"],
            pg_data=env["SRN_TEST_PG_DATA"],
            pg_log=env["SRN_TEST_PG_LOG"],
            pg_user=env.get("SRN_TEST_PG_USER", ""),
            redis_port=env["SRN_TEST_REDIS_PORT"],
            redis_dir=env["SRN_TEST_REDIS_DIR"],
            redis_pidfile=env["SRN_TEST_REDIS_PIDFILE"],
            redis_user=env.get("SRN_TEST_REDIS_USER", ""),
        )

    def restart_postgres(self, *, mode: str = "fast") -> None:
        """Stop (``fast``: sessions ended; ``immediate``: a crash, recovered at start)."""
        pg_ctl = [self.pg_ctl, "-D", self.pg_data, "-w", "-t", "60"]
        _run(_as(self.pg_user, [*pg_ctl, "stop", "-m", mode]))
        _run(_as(self.pg_user, [*pg_ctl, "start", "-l", self.pg_log]))

    def redis_answers(self) -> bool:
        ping = subprocess.run(
            [REDIS_CLI, "-h", "127.0.0.1", "-p", self.redis_port, "ping"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
        return ping.stdout.strip() == "PONG"

    def restart_redis(self) -> None:
        """Shut down without saving (no persistence: groups and keys are gone), start."""
        subprocess.run(
            [REDIS_CLI, "-h", "127.0.0.1", "-p", self.redis_port, "shutdown", "nosave"],
            capture_output=True, timeout=10, check=False,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while self.redis_answers():
            assert time.monotonic() < deadline, "redis did not stop"
            time.sleep(0.05)
        _run(
            _as(
                self.redis_user,
                [
                    REDIS_SERVER, "--bind", "127.0.0.1", "--port", self.redis_port,
                    "--protected-mode", "yes", "--save", "", "--appendonly", "no",
                    "--dir", self.redis_dir, "--daemonize", "yes",
                    "--pidfile", self.redis_pidfile,
                    "--logfile", os.path.join(self.redis_dir, "redis.log"),
                ],
            )
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.redis_answers():
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
