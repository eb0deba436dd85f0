"""deploy/nginx/srn.conf in Debian's nginx, in front of a real Daphne of the production
profile started as srn-daphne@.service starts it: HTTPS, HSTS, the HTTP redirect, client
addresses through TRUSTED_PROXIES, and the WebSocket upgrade. Loopback only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.deploy import live
from tests.deploy.envfiles import DEPLOY

pytestmark = pytest.mark.production

SPOOFED = "203.0.113.9"


def _daphne_command(port: int) -> list[str]:
    """The ExecStart of srn-daphne@.service with this venv and ``%i`` = port."""
    unit = (DEPLOY / "systemd" / "srn-daphne@.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    command = exec_start.removeprefix("ExecStart=").replace("%i", str(port)).split()
    assert command[0] == "/opt/srn/venv/bin/daphne"
    command[0] = str(Path(sys.executable).parent / "daphne")
    return command


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict  # the test database pytest-django created
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    directory = tmp_path_factory.mktemp("nginx")
    directory.chmod(0o755)  # nginx's workers (another user when run as root) look inside
    http_port, https_port, daphne_port = live.free_port(), live.free_port(), live.free_port()
    cert, key = live.self_signed_certificate(directory)
    site = live.render_site(
        directory,
        http_port=http_port,
        https_port=https_port,
        daphne_port=daphne_port,
        cert=cert,
        key=key,
    )
    main = live.render_main_conf(directory, site)
    origin = f"https://localhost:{https_port}"
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        TRUSTED_PROXIES="127.0.0.1",
        ALLOWED_HOSTS="localhost",
        CSRF_TRUSTED_ORIGINS=origin,
        WEBSOCKET_ALLOWED_ORIGINS=origin,
        DJANGO_SETTINGS_MODULE="coordination.settings",
    )
    servers = []
    try:
        daphne = live.start(
            _daphne_command(daphne_port), log=directory / "daphne.log", env=env, cwd=directory
        )
        servers.append(daphne)
        live.wait_for_port(daphne, daphne_port, "Daphne")
        nginx = live.nginx_binary()
        check = subprocess.run(
            [
                nginx,
                "-t",
                "-q",
                "-p",
                str(directory),
                "-e",
                str(directory / "error.log"),
                "-c",
                str(main),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        proxy = live.start(
            [nginx, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(main)],
            log=directory / "nginx.out",
            cwd=directory,
        )
        servers.append(proxy)
        live.wait_for_port(proxy, https_port, "nginx")
        yield {
            "http": http_port,
            "https": https_port,
            "daphne": daphne_port,
            "tls": live.tls_context(cert),
            "origin": origin,
            "env": env,
            "daphne_log": daphne,
            "dir": directory,
        }
    finally:
        for server in reversed(servers):
            server.stop()


def test_https_healthz_and_readyz_through_nginx(stack):
    status, headers, body = live.request(stack["https"], "GET", "/healthz", tls=stack["tls"])
    assert status == 200, body
    assert json.loads(body) == {"status": "ok"}
    assert headers.get_all("Strict-Transport-Security") == [
        "max-age=31536000; includeSubDomains; preload"
    ]
    assert headers["X-Request-ID"], "the answer came from Django"
    assert "nginx/" not in (headers["Server"] or "")  # server_tokens off

    status, _, body = live.request(stack["https"], "GET", "/readyz", tls=stack["tls"])
    assert status == 200, body
    assert json.loads(body)["checks"] == {"database": "ok", "channel_layer": "ok"}


def test_plain_http_only_redirects(stack):
    status, headers, _ = live.request(stack["http"], "GET", "/healthz?x=1", tls=None)
    assert status == 301
    assert headers["Location"] == "https://localhost/healthz?x=1"


def test_nginx_errors_carry_hsts_too(stack):
    status, headers, _ = live.request(
        stack["https"], "POST", "/api/v1/auth/token/", tls=stack["tls"], body=b"x" * (2 << 20)
    )
    assert status == 413  # client_max_body_size: bodies stay small and in memory
    assert headers.get_all("Strict-Transport-Security")


def _failed_login(port: int, *, tls, forwarded_for: str) -> tuple[str, str]:
    agent = f"deploy-test/{uuid.uuid4().hex[:8]}"
    status, headers, body = live.request(
        port,
        "POST",
        "/api/v1/auth/token/",
        tls=tls,
        headers={
            "Content-Type": "application/json",
            "X-Forwarded-For": forwarded_for,
            "X-Forwarded-Proto": "https",
            "User-Agent": agent,
        },
        body=json.dumps({"username": f"nobody-{uuid.uuid4().hex}", "password": "x" * 12}).encode(),
    )
    assert status in {400, 401}, body
    assert json.loads(body)["code"] == "invalid_credentials"
    return headers["X-Request-ID"], agent


def test_the_audit_trail_records_the_real_client_not_a_forged_header(stack, transactional_db):
    from audit.models import AuditEntry

    # Through nginx (127.0.0.1, a trusted proxy): its appended hop is believed, the
    # client's own X-Forwarded-For entry is not.
    request_id, agent = _failed_login(stack["https"], tls=stack["tls"], forwarded_for=SPOOFED)
    entry = AuditEntry.objects.get(request_id=request_id)
    assert entry.action == "login_failed"
    assert entry.client_ip == live.CLIENT_ADDRESS
    assert entry.user_agent == agent

    # Straight to Daphne from an untrusted peer: the header is ignored altogether.
    request_id, _ = _failed_login(stack["daphne"], tls=None, forwarded_for=SPOOFED)
    assert AuditEntry.objects.get(request_id=request_id).client_ip == live.CLIENT_ADDRESS


def test_the_container_health_check_script_passes_against_daphne(stack):
    script = DEPLOY / "docker" / "healthcheck.py"
    env = dict(stack["env"], PORT=str(stack["daphne"]))
    ready = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ready.returncode == 0, ready.stderr
    closed = subprocess.run(
        [sys.executable, str(script)],
        env=dict(env, PORT=str(live.free_port())),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert closed.returncode == 1
    assert "not ready" in closed.stderr
