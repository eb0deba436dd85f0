"""The service's ASGI application with the sealer's chain-head lock timed, for
``bench/chain_bench.py``. Nothing of the service changes: the two sealer functions
around the locked section are wrapped here, in the benchmark's Daphne processes only.

Per sealing it appends ``<held s> <waited s> <entries>`` to
``$CHAIN_BENCH_HOLDS/holds-<pid>.txt``: held from the moment the ``ChainHead`` row
lock was granted (``select_for_update`` returned) until the sealing's transaction
committed (the lock's release); waited from the sealing's start until the grant.
"""

import os
import threading
import time
from pathlib import Path

from srn.asgi import application  # sets Django up: import it first

# isort: split
from audit import sealer

_holds = Path(os.environ["CHAIN_BENCH_HOLDS"]) / f"holds-{os.getpid()}.txt"
_granted = threading.local()
_locked_head, _seal_batch = sealer._locked_head, sealer._seal_batch


def _timed_locked_head():
    head = _locked_head()
    _granted.at = time.perf_counter()
    return head


def _timed_seal_batch():
    started, _granted.at = time.perf_counter(), None
    sealed = _seal_batch()
    released = time.perf_counter()
    if _granted.at is not None:
        with open(_holds, "a") as out:
            out.write(f"{released - _granted.at:.6f} {_granted.at - started:.6f} {len(sealed)}\n")
    return sealed


sealer._locked_head = _timed_locked_head
sealer._seal_batch = _timed_seal_batch

__all__ = ["application"]
