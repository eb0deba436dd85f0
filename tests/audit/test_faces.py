"""Reads are audited where they are selected: the faces of ``audit`` and ``agencies``
never write an audit entry themselves, and ``audit`` imports no other app."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FACES = sorted(
    path
    for app in ("audit", "agencies")
    for face in ("api", "web")
    for path in (ROOT / app / face).glob("*.py")
)
OTHER_APPS = ("agencies", "consent", "coordination", "srn")
# Plumbing below the apps, which imports none of them (pyproject's import contracts).
PLUMBING = ("srn.prepared",)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


@pytest.mark.parametrize("path", FACES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_face_never_writes_audit_entries_itself(path):
    # Refusals are the exception: the layer that answers one writes its ``denied``
    # entry through ``audit.denials`` (the pages' sign-in gate does).
    assert not {name for name in _imports(path) if name.startswith("audit.recorder")}


def test_audit_imports_no_other_app():
    found = {
        (str(path.relative_to(ROOT)), name)
        for path in (ROOT / "audit").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in OTHER_APPS and not name.startswith(PLUMBING)
    }
    assert not found
