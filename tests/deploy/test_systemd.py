"""deploy/systemd: the units are valid (systemd-analyze verify where systemd is installed)
and each service carries the same hardening and environment."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.envfiles import DEPLOY

UNITS = DEPLOY / "systemd"
VENV_BIN = "/opt/srn/venv/bin"

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
}
COMMON = {
    "User": "srn",
    "Group": "srn",
    "EnvironmentFile": "/etc/srn/srn.env",
    "WorkingDirectory": "/var/lib/srn",
}


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def _services():
    return sorted(UNITS.glob("*.service"))


def test_the_expected_units_exist():
    names = {path.name for path in UNITS.iterdir()}
    assert {
        "srn-daphne@.service",
        "srn-migrate.service",
        "srn.target",
        "srn-expire-consents.service",
        "srn-expire-consents.timer",
        "srn-audit-checkpoint.service",
        "srn-audit-checkpoint.timer",
        "srn-apply-retention.service",
        "srn-apply-retention.timer",
    } <= names


@pytest.mark.parametrize("path", _services(), ids=lambda path: path.name)
def test_every_service_is_hardened_and_reads_the_env_file(path):
    service = _unit(path)["Service"]
    for key, value in {**HARDENING, **COMMON}.items():
        assert service.get(key) == value, f"{path.name}: {key}={value}"
    assert "srn" in service["StateDirectory"].split()
    assert "DJANGO_SETTINGS_MODULE=srn.settings" in service["Environment"]


def test_timers_start_their_services():
    for timer in UNITS.glob("*.timer"):
        assert (UNITS / timer.name.replace(".timer", ".service")).is_file()
        parsed = _unit(timer)
        assert parsed["Timer"]["OnCalendar"]
        assert parsed["Timer"]["Persistent"] == "true"
        assert parsed["Install"]["WantedBy"] == "timers.target"


def test_the_worker_template_serves_its_port_on_loopback_and_restarts():
    unit = _unit(UNITS / "srn-daphne@.service")
    service = unit["Service"]
    command = service["ExecStart"].split()
    assert command[0] == f"{VENV_BIN}/daphne"
    assert command[command.index("-b") + 1] == "127.0.0.1"
    assert command[command.index("-p") + 1] == "%i"
    assert "--proxy-headers" not in command  # the application judges X-Forwarded-For
    assert service["Restart"] == "on-failure"
    assert "srn-migrate.service" in unit["Unit"]["Requires"]
    assert "srn-migrate.service" in unit["Unit"]["After"]
    upstream = (DEPLOY / "nginx" / "upstream-systemd.conf").read_text()
    for server in re.findall(r"^server (\S+)", upstream, re.MULTILINE):
        host, port = server.rsplit(":", 1)
        assert host == "127.0.0.1"
        assert port.isdigit()


def test_the_checkpoint_export_lands_in_the_state_directory():
    service = _unit(UNITS / "srn-audit-checkpoint.service")["Service"]
    assert 'audit_checkpoint --export "/var/lib/srn/checkpoints/' in service["ExecStart"]
    assert "srn/checkpoints" in service["StateDirectory"].split()


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    """Verified with systemd's own parser where it is installed; the structural tests
    above hold either way."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        # No systemd on this machine: parse each unit strictly instead.
        for path in UNITS.iterdir():
            if path.suffix in {".service", ".timer", ".target"}:
                _unit(path)
        return
    venv_bin = str(Path(sys.executable).parent)
    for path in UNITS.iterdir():
        if path.suffix not in {".service", ".timer", ".target"}:
            continue
        name = path.name.replace("@.service", "@8001.service")
        (tmp_path / name).write_text(path.read_text().replace(VENV_BIN, venv_bin))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
