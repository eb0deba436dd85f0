"""Real nginx (Debian's) with deploy/nginx/srn.conf in front of a real Daphne, on loopback.

srn.conf is rendered for the test only where a test must differ from an install: listen
ports, certificate paths and the upstream file. Each substitution must apply exactly as
often as expected, so a change to srn.conf that the rendering no longer matches fails
loudly instead of testing something else.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.deploy.envfiles import DEPLOY

CLIENT_ADDRESS = "127.0.0.2"  # a "remote" client: loopback, yet not nginx's 127.0.0.1
WAIT_SECONDS = 30


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _substitute(text: str, old: str, new: str, count: int) -> str:
    found = text.count(old)
    if found != count:
        raise AssertionError(f"srn.conf: expected {count}x {old!r}, found {found}")
    return text.replace(old, new)


def render_site(
    directory: Path, *, http_port: int, https_port: int, daphne_port: int, cert: Path, key: Path
) -> Path:
    conf = (DEPLOY / "nginx" / "srn.conf").read_text()
    conf = _substitute(conf, "    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n", 1)
    conf = _substitute(conf, "    listen [::]:80;\n", "", 1)
    conf = _substitute(
        conf, "    listen 443 ssl;\n", f"    listen 127.0.0.1:{https_port} ssl;\n", 1
    )
    conf = _substitute(conf, "    listen [::]:443 ssl;\n", "", 1)
    conf = _substitute(conf, "/etc/nginx/srn/tls/fullchain.pem;", f"{cert};", 1)
    conf = _substitute(conf, "/etc/nginx/srn/tls/privkey.pem;", f"{key};", 1)
    upstream = directory / "upstream.conf"
    conf = _substitute(conf, "include /etc/nginx/srn/upstream.conf;", f"include {upstream};", 1)
    # The bare-metal upstream file, reduced to its first worker on the test's port.
    first = re.search(
        r"^server 127\.0\.0\.1:\d+(.*)$",
        (DEPLOY / "nginx" / "upstream-systemd.conf").read_text(),
        re.MULTILINE,
    )
    upstream.write_text(f"server 127.0.0.1:{daphne_port}{first[1]}\n")
    site = directory / "srn.conf"
    site.write_text(conf)
    return site


def render_main_conf(directory: Path, site: Path) -> Path:
    """A minimal nginx.conf of our own (Debian's includes sites we must not load)."""
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\n"
        f"error_log {directory}/error.log info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {directory}/access.log;\n"
        f"    client_body_temp_path {directory}/client_body;\n"
        f"    proxy_temp_path {directory}/proxy;\n"
        f"    fastcgi_temp_path {directory}/fastcgi;\n"
        f"    uwsgi_temp_path {directory}/uwsgi;\n"
        f"    scgi_temp_path {directory}/scgi;\n"
        f"    include {site};\n"
        "}\n"
    )
    return main


@dataclass
class Server:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(command: list[str], *, log: Path, env: dict | None = None, cwd: Path) -> Server:
    handle = log.open("wb")
    try:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    finally:
        handle.close()
    return Server(process, log)


def wait_for_port(server: Server, port: int, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"{what} exited early:\n{server.output()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port} in {WAIT_SECONDS}s")


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise AssertionError("nginx is not installed (.ci/test installs it for pass 2)")
    return found


def tls_context(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(port: int, *, tls: ssl.SSLContext | None, source: str = CLIENT_ADDRESS):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    return tls.wrap_socket(raw, server_hostname="localhost") if tls else raw


def request(
    port: int,
    method: str,
    path: str,
    *,
    tls: ssl.SSLContext | None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    source: str = CLIENT_ADDRESS,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One HTTP/1.1 request from ``source``; returns status, headers and body."""
    sock = connect(port, tls=tls, source=source)
    try:
        lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return response.status, response.headers, response.read()
    finally:
        sock.close()
