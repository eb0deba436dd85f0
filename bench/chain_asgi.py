"""The service's ASGI application with the sealer's chain-head lock timed, for
``bench/chain_bench.py``. Nothing of the service changes: the two sealer functions
around the locked section are wrapped here, in the benchmark's Daphne processes only.

Per sealing it appends ``<held s> <waited s> <entries> <in SQL s> <statements>
<grants>`` to ``$CHAIN_BENCH_HOLDS/holds-<pid>.txt``: held from the moment the
``ChainHead`` row lock was granted (``select_for_update`` returned) until the sealing's
transaction committed (the lock's release); waited from the sealing's start until the
grant (the sealing's unlocked read and hashing included); grants, how often the
sealing locked the head (more than once: the head had moved since its read); in
SQL, the part of the hold spent in the database driver's calls (the rest is Python:
hashing, building rows, waiting for the GIL); statements, the round trips made while
holding the lock (its grant's excluded, the commit included).
"""

import os
import threading
import time
from pathlib import Path

from srn.asgi import application  # sets Django up: import it first

# isort: split
from django.db import connection

from audit import sealer

_holds = Path(os.environ["CHAIN_BENCH_HOLDS"]) / f"holds-{os.getpid()}.txt"
_granted = threading.local()
_locked_head, _seal_batch = sealer._locked_head, sealer._seal_batch


def _timed_locked_head():
    head = _locked_head()
    _granted.at = time.perf_counter()
    _granted.grants += 1
    return head


def _in_sql(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        if _granted.at is not None:
            _granted.sql += time.perf_counter() - started
            _granted.statements += 1


def _timed_seal_batch():
    started, _granted.at, _granted.sql, _granted.statements = time.perf_counter(), None, 0.0, 0
    _granted.grants = 0
    with connection.execute_wrapper(_in_sql):
        sealed = _seal_batch()
        released = time.perf_counter()  # the commit is the atomic block's exit, inside
    if _granted.at is not None:
        held, waited = released - _granted.at, _granted.at - started
        with open(_holds, "a") as out:
            out.write(
                f"{held:.6f} {waited:.6f} {len(sealed)} {_granted.sql:.6f} {_granted.statements}"
                f" {_granted.grants}\n"
            )
    return sealed


sealer._locked_head = _timed_locked_head
sealer._seal_batch = _timed_seal_batch

__all__ = ["application"]
