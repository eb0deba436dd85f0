"""deploy/docker-compose.yml and deploy/Dockerfile hang together (no Docker engine here:
these read the files; the live nginx + Daphne test is in test_nginx_live.py)."""

from __future__ import annotations

import ipaddress
import re
import shlex

import pytest
import yaml

from tests.deploy.envfiles import (
    COMPOSE,
    DEPLOY,
    ROOT,
    comment_above,
    env_example_lines,
    production_env_reads,
)

NGINX_CONF = DEPLOY / "nginx" / "srn.conf"
DOCKERFILE = DEPLOY / "Dockerfile"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def _image(service) -> str:
    return service.get("image", "")


def _web_services(services):
    """The Daphne workers: our image, running its default command (Daphne)."""
    return {
        name: service
        for name, service in services.items()
        if _image(service) == "srn:latest" and "command" not in service
    }


def _dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", DOCKERFILE.read_text(), re.MULTILINE)
    assert match, "the Dockerfile ends in an exec-form CMD"
    return yaml.safe_load(match[1])


def test_the_stack_has_its_parts(services):
    images = {name: _image(service) for name, service in services.items()}
    assert images["db"] == "postgres:15"
    assert images["redis"] == "redis:7"
    assert images["nginx"].startswith("nginx:")
    assert services["migrate"]["command"] == [
        "sh",
        "-c",
        "django-admin migrate --noinput && django-admin migrate --database keys --noinput",
    ]
    assert images["keys-db"] == "postgres:15"
    assert services["migrate"]["restart"] == "no"
    assert len(_web_services(services)) >= 2, "several Daphne workers"
    jobs = {name: " ".join(service.get("command", [])) for name, service in services.items()}
    assert "expire_consents" in jobs["expire-consents"]
    assert "audit_checkpoint --export" in jobs["audit-checkpoint"]
    assert "apply_retention" in jobs["apply-retention"]


def test_long_running_services_have_health_checks_and_restart(services):
    for name, service in services.items():
        if name == "migrate":
            continue
        assert service.get("restart") == "unless-stopped", name
        if name in {"expire-consents", "audit-checkpoint", "apply-retention"}:
            continue  # loops, not servers: nothing depends on them
        assert service.get("healthcheck", {}).get("test"), f"{name} has a health check"


def test_start_order_waits_for_health_and_migrations(services):
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    assert services["migrate"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "keys-db": {"condition": "service_healthy"},
    }
    for name, service in _web_services(services).items():
        assert service["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}, name
        assert services["nginx"]["depends_on"][name] == {"condition": "service_healthy"}


def test_web_health_check_is_the_script_the_image_ships(services):
    dockerfile = DOCKERFILE.read_text()
    for name, service in _web_services(services).items():
        test = service["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python"], name
        script = test[2]
        assert script == "/opt/srn/bin/healthcheck.py"
        assert (DEPLOY / "docker" / "healthcheck.py").is_file()
        assert "deploy/docker/healthcheck.py" in dockerfile
        assert "/opt/srn/bin/" in dockerfile


def test_application_services_read_the_documented_env_file(services):
    assert (DEPLOY / ".env.example").is_file()
    assert ".env" in (DEPLOY / ".gitignore").read_text().split()
    reads = {item.name for item in production_env_reads()}
    for name, service in services.items():
        if _image(service) != "srn:latest":
            assert "env_file" not in service, f"{name} gets only what it needs"
            continue
        assert service["env_file"] == ".env", name
        for variable in service["environment"]:
            assert variable in reads, f"{name} sets {variable}, which settings.py never reads"


def test_compose_overrides_are_said_so_in_the_env_example(services):
    lines = env_example_lines()
    for variable in services["web1"]["environment"]:
        if variable == "SRN_PROFILE":
            assert lines[variable].value == "production"
            continue
        assert "docker compose" in comment_above(variable), (
            f".env.example must say that compose sets {variable} itself"
        )


def test_passwords_are_required_interpolations_and_match_the_servers(services):
    environment = services["web1"]["environment"]
    assert "${POSTGRES_PASSWORD:?" in environment["DATABASE_URL"]
    assert environment["DATABASE_URL"].endswith("@db:5432/srn")
    assert "${REDIS_PASSWORD:?" in environment["REDIS_URL"]
    assert environment["REDIS_URL"].endswith("@redis:6379/0")
    assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert services["db"]["environment"]["POSTGRES_USER"] == "srn"
    assert services["db"]["environment"]["POSTGRES_DB"] == "srn"
    assert "${KEYS_POSTGRES_PASSWORD:?" in environment["KEYS_DATABASE_URL"]
    assert environment["KEYS_DATABASE_URL"].endswith("@keys-db:5432/srn_keys")
    keys = services["keys-db"]["environment"]
    assert keys["POSTGRES_PASSWORD"].startswith("${KEYS_POSTGRES_PASSWORD:?")
    assert (keys["POSTGRES_USER"], keys["POSTGRES_DB"]) == ("srn_keys", "srn_keys")
    assert services["keys-db"]["volumes"] != services["db"]["volumes"]
    redis_command = " ".join(services["redis"]["command"])
    assert '--requirepass "$$REDIS_PASSWORD"' in redis_command
    assert services["redis"]["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    # Channels needs no persistence.
    assert "--save ''" in redis_command
    assert "--appendonly no" in redis_command


def test_only_nginx_is_published_and_the_inner_networks_are_internal(compose, services):
    for name, service in services.items():
        if name != "nginx":
            assert "ports" not in service, f"{name} must not be published"
    assert sorted(services["nginx"]["ports"]) == ["443:443", "80:80"]
    networks = compose["networks"]
    assert networks["edge"]["internal"] is True
    assert networks["backend"]["internal"] is True
    for name in ("db", "keys-db", "redis", "migrate", *_web_services(services)):
        assert "public" not in services[name]["networks"], name


def _edge_address(service) -> str:
    return service["networks"]["edge"]["ipv4_address"]


def test_nginx_upstream_is_exactly_the_workers_and_the_trusted_proxy_is_nginx(compose, services):
    subnet = ipaddress.ip_network(compose["networks"]["edge"]["ipam"]["config"][0]["subnet"])
    cmd = _dockerfile_cmd()
    port = cmd[cmd.index("-p") + 1]
    workers = {f"{_edge_address(s)}:{port}" for s in _web_services(services).values()}
    upstream = (DEPLOY / "nginx" / "upstream-compose.conf").read_text()
    listed = set(re.findall(r"^server (\S+)", upstream, re.MULTILINE))
    assert listed == workers
    nginx_address = _edge_address(services["nginx"])
    for address in [nginx_address, *(w.rsplit(":", 1)[0] for w in workers)]:
        assert ipaddress.ip_address(address) in subnet
    for service in services.values():
        if _image(service) == "srn:latest":
            assert service["environment"]["TRUSTED_PROXIES"] == nginx_address


def test_nginx_mounts_the_files_that_exist_where_the_conf_looks(services):
    mounts = {}
    for volume in services["nginx"]["volumes"]:
        source, target, mode = volume.split(":")
        assert mode == "ro"
        mounts[target] = source
    conf = NGINX_CONF.read_text()
    assert mounts["/etc/nginx/conf.d/default.conf"] == "./nginx/srn.conf"
    include = re.search(r"^\s*include (\S+);", conf, re.MULTILINE)[1]
    assert mounts[include] == "./nginx/upstream-compose.conf"
    for source in mounts.values():
        if source != "./tls":
            assert (DEPLOY / source).is_file(), source
    tls_dir = mounts["/etc/nginx/srn/tls"]
    assert tls_dir == "./tls"
    assert "tls/" in (DEPLOY / ".gitignore").read_text().split()
    for directive in ("ssl_certificate", "ssl_certificate_key"):
        path = re.search(rf"^\s*{directive}\s+(\S+);", conf, re.MULTILINE)[1]
        assert path.startswith("/etc/nginx/srn/tls/"), directive


def test_the_image_runs_daphne_unprivileged_without_proxy_headers():
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    user = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user
    assert not user[-1].startswith(("root", "0"))
    cmd = _dockerfile_cmd()
    assert cmd[0] == "daphne"
    assert cmd[-1] == "srn.asgi:application"
    assert cmd[cmd.index("-b") + 1] == "0.0.0.0"  # noqa: S104 (inside the container)
    # Daphne's --proxy-headers believes the leftmost, client-written X-Forwarded-For
    # entry from any peer; the application's TRUSTED_PROXIES rule must decide instead.
    assert "--proxy-headers" not in cmd
    assert "RUN /opt/srn/bin/collectstatic.sh" in dockerfile
    assert re.search(r"^RUN pip install \.", dockerfile, re.MULTILINE)


def test_every_file_the_dockerfile_copies_exists_and_is_in_the_build_context():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for line in DOCKERFILE.read_text().splitlines():
        if not line.startswith("COPY "):
            continue
        *sources, _target = shlex.split(line)[1:]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert any(source == a or source.startswith(a + "/") for a in allowed), source


def test_nginx_keeps_idle_sockets_longer_than_the_heartbeat():
    from tests.deploy.envfiles import SETTINGS

    heartbeat = re.search(
        r'env_int\("WS_HEARTBEAT_SECONDS", (\d+)', SETTINGS.read_text()
    )  # the default the application sends heartbeats at
    conf = NGINX_CONF.read_text()
    ws_block = conf[conf.index("location /ws/") :]
    ws_block = ws_block[: ws_block.index("}")]
    timeout = re.search(r"proxy_read_timeout (\d+)s;", ws_block)
    assert "proxy_set_header Upgrade $http_upgrade;" in ws_block
    assert "proxy_set_header Connection $srn_connection_upgrade;" in ws_block
    # A location with its own proxy_set_header inherits none: the forwarding headers must
    # be repeated, or sockets would be audited with nginx's address.
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in ws_block
    assert int(timeout[1]) >= 2 * int(heartbeat[1])
    example = env_example_lines()["WS_HEARTBEAT_SECONDS"]
    assert example.value == heartbeat[1]


def test_the_image_gets_every_local_app():
    """A new app must be packaged (pyproject) and copied into the image (Dockerfile and
    its ignore file), or the container would start without it."""
    import fnmatch
    import tomllib

    from django.conf import settings

    local_apps = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }
    assert {"coordination", "agencies", "consent", "audit"} <= local_apps
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    dockerfile = DOCKERFILE.read_text()
    allowed = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for app in local_apps:
        assert any(fnmatch.fnmatch(app, pattern) for pattern in include), app
        assert f"COPY {app} ./{app}" in dockerfile, app
        assert f"!{app}/" in allowed, app
