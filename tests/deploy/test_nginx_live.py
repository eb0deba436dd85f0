"""deploy/nginx/srn.conf in Debian's nginx, in front of a real Daphne of the production
profile started as srn-daphne@.service starts it: HTTPS, HSTS, the HTTP redirect, client
addresses through TRUSTED_PROXIES, and the WebSocket upgrade. Loopback only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as websocket_connect

from audit import sealer
from tests import processes
from tests.coordination import live_helpers as h
from tests.deploy import live
from tests.deploy.envfiles import DEPLOY

# All transactional (Daphne reads and writes the test database in its own connections),
# which also keeps them together around the one module-scoped nginx + Daphne.
pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

SPOOFED = "203.0.113.9"


def _daphne_command(port: int) -> list[str]:
    """The ExecStart of srn-daphne@.service with this venv and ``%i`` = port."""
    unit = (DEPLOY / "systemd" / "srn-daphne@.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    command = exec_start.removeprefix("ExecStart=").replace("%i", str(port)).split()
    assert command[0] == "/opt/srn/venv/bin/daphne"
    command[0] = str(Path(sys.executable).parent / "daphne")
    return command


@pytest.fixture(autouse=True)
def _stack_sealed():
    """The stack's Daphne seals each test's entries on its sealer thread, within the
    second: wait for that before the test's database is flushed (a sealing overlapping
    the flush's TRUNCATE deadlocks with it)."""
    yield
    deadline = time.monotonic() + 5
    while sealer.pending_count() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    directory = tmp_path_factory.mktemp("nginx")
    directory.chmod(0o755)  # nginx's workers (another user when run as root) look inside
    from django.db import connection

    http_port, https_port, daphne_port = (processes.free_port() for _ in range(3))
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
        **processes.database_urls(connection.settings_dict),  # the test databases
        TRUSTED_PROXIES="127.0.0.1",
        ALLOWED_HOSTS="localhost",
        CSRF_TRUSTED_ORIGINS=origin,
        WEBSOCKET_ALLOWED_ORIGINS=origin,
        # A heartbeat every second, so that one is seen crossing nginx within the test.
        WS_HEARTBEAT_SECONDS="1",
        DJANGO_SETTINGS_MODULE="srn.settings",
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


def test_the_audit_trail_records_the_real_client_not_a_forged_header(stack):
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
        env=dict(env, PORT=str(processes.free_port())),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert closed.returncode == 1
    assert "not ready" in closed.stderr


def _api(stack, method: str, path: str, *, token: str, body: dict | None = None) -> dict:
    status, _, raw = live.request(
        stack["https"],
        method,
        path,
        tls=stack["tls"],
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps(body).encode() if body is not None else b"",
    )
    assert 200 <= status < 300, raw
    return json.loads(raw) if raw else {}


def _next(socket, kind: str) -> dict:
    while True:
        message = json.loads(socket.recv(timeout=10))
        if message["type"] == kind:
            return message


def test_live_events_cross_nginx_over_a_websocket(stack, members, agencies):
    """wss:// through nginx: ticket handshake, replay, an event caused by a request that
    also went through nginx, and idle heartbeats."""
    from audit.models import AuditEntry
    from coordination import services

    liaison, caseworker = members["liaison"], members["caseworker"]
    survivor = h.make_survivor(liaison)
    services.consent_record(
        actor=liaison, survivor_id=survivor.id, **h.consent_fields(agencies, "shelter")
    )
    referral = h.make_referral(liaison, survivor, [agencies["shelter"]])
    token = h.token_for(caseworker)
    ticket = _api(stack, "POST", "/api/v1/auth/ws-ticket/", token=token)["ticket"]

    raw = live.connect(stack["https"], tls=None)  # TCP from the client address; TLS below
    with websocket_connect(
        f"wss://localhost:{stack['https']}/ws/v1/events/",
        sock=raw,
        ssl=stack["tls"],
        origin=stack["origin"],
        proxy=None,
        open_timeout=10,
    ) as socket:
        assert socket.response.status_code == 101
        assert socket.response.headers["Strict-Transport-Security"]
        socket.send(json.dumps({"type": "hello", "after": 0, "ticket": ticket}))
        replayed = []
        while (message := json.loads(socket.recv(timeout=10)))["type"] != "ready":
            replayed.append(message)
        assert str(referral.id) in {event.get("referral") for event in replayed}

        _api(
            stack,
            "POST",
            f"/api/v1/referrals/{referral.id}/transitions/",
            token=token,
            body={"action": "accept"},
        )
        event = _next(socket, "event")
        assert (event["kind"], event["referral"]) == ("referral.accepted", str(referral.id))
        assert _next(socket, "heartbeat")["type"] == "heartbeat"

    # The socket's audit entries carry the client's address, as the HTTP ones do.
    entries = AuditEntry.objects.filter(actor_user_id=caseworker.user_id, object_type="ws")
    assert set(entries.values_list("action", flat=True)) >= {"ws_connect", "ws_subscribe"}
    assert set(entries.values_list("client_ip", flat=True)) == {live.CLIENT_ADDRESS}


def test_a_foreign_origin_is_refused_by_the_application_not_by_nginx(stack):
    from audit.models import AuditEntry

    raw = live.connect(stack["https"], tls=None)
    with pytest.raises(InvalidStatus) as refused:
        websocket_connect(
            f"wss://localhost:{stack['https']}/ws/v1/events/",
            sock=raw,
            ssl=stack["tls"],
            origin="https://evil.example",
            proxy=None,
            open_timeout=10,
        )
    assert refused.value.response.status_code == 403
    # The upgrade reached the consumer, which refused and audited it.
    refusal = AuditEntry.objects.get(action="denied", object_type="ws")
    assert refusal.detail == {"code": "origin_refused"}
    assert refusal.client_ip == live.CLIENT_ADDRESS
