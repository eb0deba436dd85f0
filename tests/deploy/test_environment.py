"""deploy/.env.example against what srn/settings.py reads in production."""

from __future__ import annotations

import ast
import base64
import os
import secrets
import subprocess
import sys

from cryptography.fernet import Fernet

from tests.deploy.envfiles import (
    ROOT,
    comment_above,
    compose_interpolations,
    env_example_lines,
    production_env_reads,
)

# Optional in settings.py, yet an active line in .env.example, and why.
ACTIVE_DESPITE_A_DEFAULT = {
    "SRN_PROFILE": "its default is the embedded profile",
    "TRUSTED_PROXIES": "nginx's X-Forwarded-For is believed only from a listed address",
}


def test_the_settings_parser_follows_the_production_branch():
    source = "\n".join(
        [
            "A = env_str('ALWAYS')",
            "if PRODUCTION:",
            "    B = env_str('PROD_ONLY')",
            "else:",
            "    B = env_str('EMBEDDED_ONLY', 'x')",
            "if not PRODUCTION:",
            "    C = env_int('ALSO_EMBEDDED', 1)",
            "if DEBUG:",
            "    D = env_bool('EITHER_WAY', default=False)",
            "E = env_choice('PICK', ('a', 'b'), 'a')",
        ]
    )
    reads = {read.name: read.required for read in production_env_reads(source)}
    assert reads == {"ALWAYS": True, "PROD_ONLY": True, "EITHER_WAY": False, "PICK": False}


def test_every_variable_read_in_production_is_documented_and_nothing_else():
    read = {item.name for item in production_env_reads()}
    documented = set(env_example_lines())
    compose_only = documented - read
    assert read - documented == set(), "read by settings.py but missing from .env.example"
    # What settings.py does not read is there only for docker compose to substitute.
    assert compose_only == compose_interpolations() - read, (
        "in .env.example but neither read by settings.py nor used by docker-compose.yml"
    )
    assert compose_only, "the compose passwords are documented"


def test_required_variables_are_active_lines_and_optional_ones_show_their_default():
    lines = env_example_lines()
    for item in production_env_reads():
        line = lines[item.name]
        if item.required or item.name in ACTIVE_DESPITE_A_DEFAULT:
            assert line.active, f"{item.name}: must not be commented out"
        else:
            assert not line.active, f"{item.name} has a default: show it commented out"


def test_every_placeholder_says_how_to_generate_its_secret():
    for name, line in env_example_lines().items():
        if "change-me" in line.value:
            comment = comment_above(name)
            assert "openssl rand" in comment or "secrets.token" in comment, (
                f"{name}: the comment above it must say how to generate the secret"
            )


def test_only_settings_reads_the_environment():
    """The premise of the checks above: no other module reads a variable."""
    offenders = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "tests", "bench", "var", "build"}:
            continue
        if relative.parts[:2] == ("deploy", "docker"):
            continue  # the container health check reads ALLOWED_HOSTS, outside Django
        if relative.as_posix() in {"srn/settings.py", "srn/env.py"}:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                parent_ok = (
                    isinstance(node.value, ast.Name)
                    and node.value.id == "os"
                    and _is_settings_module_default(tree, node)
                )
                if not parent_ok:
                    offenders.append(f"{relative}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id in {"env_str", "env_list", "env_int"}:
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []


def _is_settings_module_default(tree: ast.AST, attribute: ast.Attribute) -> bool:
    """``os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`` (asgi.py) sets, not reads."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and node.func.value is attribute
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"
        ):
            return True
    return False


def _filled_in_example() -> dict[str, str]:
    """.env.example with each change-me replaced as its comment says to generate it."""
    generated = {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    env = {}
    for name, line in env_example_lines().items():
        value = generated.get(name, line.value)
        env[name] = value.replace("change-me", secrets.token_hex(32))
    return env


def test_the_filled_in_example_passes_check_deploy():
    """Every default and example value in the file is one the production profile accepts."""
    example = _filled_in_example()
    reads = {item.name for item in production_env_reads()}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in reads and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(example)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_unfilled_example_refuses_to_start():
    """Left as shipped, the placeholders stop the process instead of running insecurely."""
    reads = {item.name for item in production_env_reads()}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in reads and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update({name: line.value for name, line in env_example_lines().items()})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50" in result.stderr
