"""A server stopped as the deployment stops it (SIGTERM) seals what its sealer thread
had waiting before it exits (``audit.sealer``: the thread is stopped at interpreter
shutdown, not left lingering or killed)."""

import urllib.request

import pytest
from django.db import connection

from audit import sealer
from audit.models import AuditEntry
from audit.verify import verify_chain
from tests import processes
from tests.coordination import live_helpers as h

pytestmark = pytest.mark.django_db(transaction=True)
READS = 30


def _read(port: int, token: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/referrals/",
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        assert response.status == 200


def test_a_stopped_server_leaves_no_entry_waiting(members, settings, tmp_path):
    env = {
        **processes.served_database_env(connection.settings_dict, tmp_path / "served"),
        "AUDIT_CHECKPOINT_EXPORT": settings.AUDIT_CHECKPOINT_EXPORT,
        "LOG_LEVEL": "WARNING",
    }
    token = h.token_for(members["caseworker"])
    sealer.flush()  # this process's own entries: only the server's may wait below
    before = AuditEntry.objects.count()
    with processes.daphnes(1, env=env) as (port,):
        for _ in range(READS):  # quicker than the window: the last ones wait at the stop
            _read(port, token)
    assert AuditEntry.objects.count() >= before + READS
    assert sealer.pending_count() == 0
    result = verify_chain()
    assert (result.ok, result.pending) == (True, 0)
