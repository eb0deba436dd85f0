"""A referrer with a consented survivor, Daphnes serving the test database, and the
audit chain's check as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from coordination import services
from tests import processes
from tests.coordination import live_helpers as h


@pytest.fixture
def served_env(transactional_db, tmp_path) -> dict[str, str]:
    """Environment for Daphnes and ``manage.py`` runs on the test database."""
    return {
        **processes.served_database_env(connection.settings_dict, tmp_path / "served"),
        "AUDIT_CHECKPOINT_EXPORT": settings.AUDIT_CHECKPOINT_EXPORT,
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def consented(members, agencies):
    """A survivor of the police whose consent covers the shelter."""
    survivor = h.make_survivor(members["liaison"])
    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **h.consent_fields(agencies, "shelter")
    )
    return survivor


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=processes.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def audit_chain_verifies(env: dict[str, str]) -> bool:
    """``seal_audit`` then ``verify_audit`` (exit 0), as the runbook has an operator do."""
    sealed = manage(env, "seal_audit")
    assert sealed.returncode == 0, sealed.stderr[-2000:]
    verified = manage(env, "verify_audit", "--no-progress")
    if verified.returncode != 0:
        print(verified.stdout[-2000:], verified.stderr[-2000:])
    return verified.returncode == 0
