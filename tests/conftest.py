import pytest
from rest_framework.test import APIClient

from agencies.models import AgencyKind, Role
from tests.factories import AgencyFactory, MemberFactory


@pytest.fixture(autouse=True)
def _fast_and_plain_http(settings):
    # Password hashing dominates test time otherwise; the production pass keeps its
    # HTTPS redirect off only because the test client speaks plain HTTP.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _password_alone_signs_in(settings):
    # MFA_REQUIRED is on by default in the production profile. The second factor is
    # tested where it is the subject (tests/agencies/test_mfa*.py, which turn it on);
    # elsewhere a password signs in, in both passes.
    settings.MFA_REQUIRED = False


@pytest.fixture(autouse=True)
def _private_checkpoint_export(settings, tmp_path):
    # Each test's exported audit checkpoints (read by verify) start empty.
    settings.AUDIT_CHECKPOINT_EXPORT = str(tmp_path / "audit-checkpoints.jsonl")


@pytest.fixture(autouse=True)
def _no_sealing_left_for_the_next_test():
    # A commit's batched sealing may wait on a timer (audit.sealer): it must not fire
    # in the next test, against that test's database.
    yield
    from audit import sealer

    sealer.reset()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agencies(db):
    """A referrer, two recipients and one agency that must never see anything."""
    return {
        "police": AgencyFactory(slug="police", kind=AgencyKind.LAW_ENFORCEMENT),
        "shelter": AgencyFactory(slug="shelter", kind=AgencyKind.SHELTER),
        "legal": AgencyFactory(slug="legal", kind=AgencyKind.LEGAL_AID),
        "outsider": AgencyFactory(slug="outsider", kind=AgencyKind.NGO),
        "oversight": AgencyFactory(slug="oversight", kind=AgencyKind.GOVERNMENT),
    }


@pytest.fixture
def members(agencies):
    return {
        "liaison": MemberFactory(agency=agencies["police"], role=Role.LIAISON),
        "caseworker": MemberFactory(agency=agencies["shelter"], role=Role.CASEWORKER),
        "legal_caseworker": MemberFactory(agency=agencies["legal"], role=Role.CASEWORKER),
        "admin": MemberFactory(agency=agencies["shelter"], role=Role.AGENCY_ADMIN),
        "outsider": MemberFactory(agency=agencies["outsider"], role=Role.CASEWORKER),
        "compliance": MemberFactory(agency=agencies["oversight"], role=Role.COMPLIANCE_OFFICER),
        "network_admin": MemberFactory(agency=agencies["oversight"], role=Role.NETWORK_ADMIN),
    }


@pytest.fixture
async def worker_connections_closed():
    """Async tests reach the database from asgiref's worker thread: close that thread's
    connections afterwards, so the test database can be flushed and dropped."""
    yield
    from channels.db import database_sync_to_async
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


def client_for(member=None) -> APIClient:
    client = APIClient()
    if member is not None:
        client.force_authenticate(user=member.user)
    return client


@pytest.fixture
def api():
    return client_for


def pytest_collection_modifyitems(config, items):
    """Tests marked ``production`` need the real PostgreSQL and Redis of the production
    profile: outside it they are deselected (reported as such), never skipped."""
    from django.conf import settings

    _with_the_key_store(items)
    if settings.PRODUCTION:
        # Tests of the SQLite files themselves have no PostgreSQL counterpart.
        files = [item for item in items if item.get_closest_marker("embedded") is not None]
        if files:
            config.hook.pytest_deselected(items=files)
            items[:] = [item for item in items if item.get_closest_marker("embedded") is None]
        return
    kept = [item for item in items if item.get_closest_marker("production") is None]
    deselected = [item for item in items if item.get_closest_marker("production") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _with_the_key_store(items) -> None:
    """Every test that uses the database uses the key store too (``consent.data_keys``):
    writing a survivor's PII makes their data key. A test that names its databases
    keeps its choice."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses_db = marker is not None or "db" in getattr(item, "fixturenames", ())
        if not uses_db or (marker is not None and "databases" in marker.kwargs):
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        args = marker.args if marker is not None else ()
        item.add_marker(
            pytest.mark.django_db(*args, **kwargs, databases=["default", "keys"]), append=False
        )


@pytest.fixture
def deferred_sealing(monkeypatch):
    """The sealer thread waits an hour: only the sealings a test runs (``flush``,
    ``seal_pending``) seal, and a request's statements are counted alone."""
    from audit import sealer

    monkeypatch.setattr(sealer, "WINDOW", 3600.0)
    monkeypatch.setattr(sealer, "LATEST", 3600.0)
    sealer.flush()
    yield
    sealer.flush()
