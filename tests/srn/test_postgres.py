"""The production profile's database entries (srn/postgres.py)."""

import pytest

from srn.postgres import POSTGRES_OPTIONS, postgres_database

URL = "postgres://srn:secret@127.0.0.1:5432/srn"


@pytest.mark.parametrize("size", [1, 10, 64])
def test_a_pool_per_process_each_connection_checked_when_taken(size):
    database = postgres_database(URL, pool_size=size)

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": size, "timeout": 10}
    assert database["CONN_HEALTH_CHECKS"]  # Django's pool: check each connection taken
    assert database["OPTIONS"]["options"] == POSTGRES_OPTIONS


def test_zero_opens_a_connection_per_request():
    database = postgres_database(URL, pool_size=0)

    assert "pool" not in database["OPTIONS"]
    assert not database["CONN_HEALTH_CHECKS"]
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["options"] == POSTGRES_OPTIONS


def _backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.production
@pytest.mark.django_db(transaction=True, databases=["default", "keys"])
@pytest.mark.parametrize("alias", ["default", "keys"])
def test_requests_take_their_connections_from_the_pool(alias):
    from django.db import connections

    connection = connections[alias]
    assert connection.pool is not None
    opened = connection.pool.get_stats().get("connections_num", 0)
    seen = set()
    for _ in range(30):  # thirty requests, each ending as a request ends: close()
        seen.add(_backend_pid(connection))
        connection.close()

    # The pool's few connections (those earlier tests left in it), not one per request.
    assert len(seen) <= connection.pool.max_size
    assert connection.pool.get_stats().get("connections_num", 0) - opened <= 1


@pytest.mark.production
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_when_taken():
    import psycopg
    from django.db import connection

    ended = _backend_pid(connection)
    connection.close()
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [ended])

    assert _backend_pid(connection) != ended  # no error: the pool checked and replaced it
