"""What the deploy files and srn/settings.py say about the environment.

Read from the files themselves (settings.py through its syntax tree), never from a
hand-kept list, so a new setting without a line in deploy/.env.example fails the tests.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTINGS = ROOT / "srn" / "settings.py"
ENV_EXAMPLE = DEPLOY / ".env.example"
COMPOSE = DEPLOY / "docker-compose.yml"

ENV_HELPERS = {"env_str", "env_bool", "env_int", "env_list", "env_choice"}
# env_choice(name, choices, default): its default is the third positional argument.
_DEFAULT_POSITION = {"env_choice": 2}


@dataclass(frozen=True)
class EnvRead:
    name: str
    helper: str
    required: bool
    line: int


def _is_production_test(test: ast.expr) -> bool | None:
    """True for ``if PRODUCTION``, False for ``if not PRODUCTION``, None otherwise."""
    if isinstance(test, ast.Name) and test.id == "PRODUCTION":
        return True
    if (
        isinstance(test, ast.UnaryOp)
        and isinstance(test.op, ast.Not)
        and isinstance(test.operand, ast.Name)
        and test.operand.id == "PRODUCTION"
    ):
        return False
    return None


def _production_nodes(body: list[ast.stmt]):
    """The statements of ``body`` that run in the production profile.

    Follows ``if PRODUCTION`` / ``if not PRODUCTION`` into the branch production takes;
    any other ``if`` may go either way, so both branches count.
    """
    for statement in body:
        if isinstance(statement, ast.If):
            branch = _is_production_test(statement.test)
            yield statement.test
            if branch is None:
                yield from _production_nodes(statement.body)
                yield from _production_nodes(statement.orelse)
            else:
                yield from _production_nodes(statement.body if branch else statement.orelse)
        else:
            yield statement


def production_env_reads(source: str | None = None) -> list[EnvRead]:
    """Every ``env_*("NAME", ...)`` call that runs when SRN_PROFILE=production."""
    tree = ast.parse(source if source is not None else SETTINGS.read_text())
    reads = []
    for node in _production_nodes(tree.body):
        for call in ast.walk(node):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id in ENV_HELPERS
            ):
                continue
            first = call.args[0] if call.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                raise AssertionError(
                    f"settings.py:{call.lineno}: {call.func.id} needs a literal variable name"
                )
            has_default = len(call.args) > _DEFAULT_POSITION.get(call.func.id, 1) or any(
                keyword.arg == "default" for keyword in call.keywords
            )
            reads.append(EnvRead(first.value, call.func.id, not has_default, call.lineno))
    return reads


_ENV_LINE = re.compile(r"^(?P<comment>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


@dataclass(frozen=True)
class EnvLine:
    name: str
    value: str
    active: bool  # False: a commented-out optional setting showing its default


def env_example_lines(text: str | None = None) -> dict[str, EnvLine]:
    lines: dict[str, EnvLine] = {}
    for raw in (text if text is not None else ENV_EXAMPLE.read_text()).splitlines():
        match = _ENV_LINE.match(raw.strip())
        if not match:
            continue
        name = match["name"]
        if name in lines:
            raise AssertionError(f".env.example names {name} twice")
        lines[name] = EnvLine(name, match["value"], active=not match["comment"])
    return lines


_INTERPOLATION = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")


def compose_interpolations(text: str | None = None) -> set[str]:
    """Names docker compose substitutes from deploy/.env (``${NAME...}``; ``$$`` escapes)."""
    text = text if text is not None else COMPOSE.read_text()
    return {match["name"] for match in _INTERPOLATION.finditer(text)}


def comment_above(name: str, text: str | None = None) -> str:
    """The run of comment lines directly above ``NAME=`` in .env.example."""
    lines = (text if text is not None else ENV_EXAMPLE.read_text()).splitlines()
    index = next(i for i, raw in enumerate(lines) if raw.startswith(f"{name}="))
    block = []
    for raw in reversed(lines[:index]):
        if not raw.startswith("#") or _ENV_LINE.match(raw):
            break
        block.append(raw)
    return "\n".join(reversed(block))
