"""The helper scripts the image ships (deploy/docker/), run for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.deploy.envfiles import DEPLOY, ROOT, production_env_reads

SCRIPTS = DEPLOY / "docker"


def _clean_env(**extra) -> dict[str, str]:
    reads = {item.name for item in production_env_reads()}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in reads and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(extra)
    return env


def test_build_time_collectstatic_needs_no_secrets_and_collects_compressed(tmp_path):
    static_root = tmp_path / "static"
    result = subprocess.run(
        ["/bin/sh", str(SCRIPTS / "collectstatic.sh")],
        cwd=tmp_path,  # not the source tree: the installed package must suffice
        env=_clean_env(PYTHON=sys.executable, STATIC_ROOT=str(static_root)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    swagger = static_root / "drf_spectacular_sidecar" / "swagger-ui-dist" / "swagger-ui-bundle.js"
    assert swagger.is_file()
    assert swagger.with_name(swagger.name + ".gz").is_file(), "WhiteNoise's compressed copy"
    assert (static_root / "admin" / "css" / "base.css").is_file()


def test_build_time_collectstatic_refuses_without_a_target(tmp_path):
    result = subprocess.run(
        ["/bin/sh", str(SCRIPTS / "collectstatic.sh")],
        cwd=tmp_path,
        env=_clean_env(PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "STATIC_ROOT" in result.stderr


def _periodic(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["/bin/sh", str(SCRIPTS / "periodic.sh"), *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_periodic_repeats_survives_failures_and_stops_on_sigterm(tmp_path):
    ticks = tmp_path / "ticks"
    process = _periodic(tmp_path, "1", "sh", "-c", f"echo tick >> {ticks}; exit 3")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if ticks.exists() and len(ticks.read_text().splitlines()) >= 2:
                break
            time.sleep(0.1)
        assert len(ticks.read_text().splitlines()) >= 2, "ran again after a failed run"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=5)
        assert time.monotonic() - started < 2, "SIGTERM ends the wait at once"
        assert process.returncode == 0
        assert "failed; retrying in 1s" in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_periodic_rejects_a_bad_interval(tmp_path):
    process = _periodic(tmp_path, "often", "true")
    _, stderr = process.communicate(timeout=5)
    assert process.returncode == 2
    assert "usage" in stderr


def test_scripts_are_executable_and_posix_sh():
    for script in ("collectstatic.sh", "periodic.sh"):
        path = SCRIPTS / script
        assert os.access(path, os.X_OK), script
        assert path.read_text().startswith("#!/bin/sh\n"), "POSIX sh (dash in the image)"
        subprocess.run(["/bin/sh", "-n", str(path)], check=True, timeout=10)
    assert os.access(DEPLOY / "systemd" / "srn-manage", os.X_OK)
    assert ROOT.joinpath("deploy", "run-embedded.sh").is_file()
