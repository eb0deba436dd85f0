"""The production profile's PostgreSQL databases (the data and the key store): one
definition for both, which the benchmarks use too."""

from __future__ import annotations

import os

import dj_database_url

# No JIT on PostgreSQL: it compiled the network report's expressions for seconds per
# query (bench/report_bench.py: an agency admin's report over 100,000 referrals took
# 7-10 s with it, about 1 s without), and no request here runs long enough to repay it.
POSTGRES_OPTIONS = "-c jit=off"


def postgres_database(url: str, *, pool_size: int) -> dict:
    """Django's ``DATABASES`` entry for the PostgreSQL database at ``url``.

    Under ASGI each request runs in a thread of its own, so a persistent connection
    (``CONN_MAX_AGE``) is never reused, only leaked until the server runs out of slots
    (Django's docs say the same; tests/reliability found it), and a new connection per
    request costs its password exchange every time (15-20 ms on loopback). So each
    process keeps a pool of up to ``pool_size`` connections (Django's ``"pool"`` option,
    psycopg_pool), each checked as it is taken, so a database restart costs no
    request; 0 opens one per request instead.
    """
    # With a pool, Django's health checks are psycopg_pool's check of each connection
    # taken (``ConnectionPool.check_connection``).
    database = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=bool(pool_size))
    options = database.setdefault("OPTIONS", {})
    options.setdefault("options", POSTGRES_OPTIONS)
    if pool_size:
        options["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": 10}
    return database


# A forked child must not use its parent's pool: the pooled connections' sockets are the
# parent's, and the pool's threads did not come along. The child opens pools of its own;
# the parent's are kept referenced (never closed, which would end them for the parent).
_PARENTS_POOLS: list[dict] = []


def _own_pools_after_fork() -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper

    _PARENTS_POOLS.append(dict(DatabaseWrapper._connection_pools))
    DatabaseWrapper._connection_pools.clear()


os.register_at_fork(after_in_child=_own_pools_after_fork)
