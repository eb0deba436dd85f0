"""The embedded profile's SQLite database: one definition, which the benchmark's bare
project (``bench/bare``) uses too, so that both wait and journal alike.

SQLite has one writer at a time, and with ``IMMEDIATE`` every transaction holds the
write lock from BEGIN to COMMIT. A BEGIN that finds it held waits in SQLite's busy
handler, which sleeps 1, 2, 5, 10 … ms between tries: a request whose BEGIN meets a
1.5 ms write of another thread pays 3 ms, and a sealing asleep in the handler is
overtaken. Within one process every transaction on a file is therefore also a *write
turn* (``srn.backends.sqlite3``): a Python lock per database file, taken before BEGIN
and given back at COMMIT or ROLLBACK, so a BEGIN waits for the process's other
transaction on that lock and starts the moment it ends, with no sleep. Between
processes nothing changes (the busy handler as before).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

ENGINE = "srn.backends.sqlite3"  # Django's, each transaction a write turn
_turns: dict[str, threading.Lock] = {}
_turns_lock = threading.Lock()


def sqlite_database(path: Path) -> dict:
    """Django's ``DATABASES`` entry for the SQLite file at ``path``, in WAL mode."""
    return {
        "ENGINE": ENGINE,
        "NAME": path,
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN: appends to the audit chain
            # serialise instead of failing to upgrade a read lock.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def turn_of(name) -> threading.Lock:
    """The write turn of the database file ``name`` in this process."""
    key = str(name)
    with _turns_lock:
        return _turns.setdefault(key, threading.Lock())


def _forget_turns() -> None:
    # A forked child has only the forking thread: a turn another thread held is not held.
    global _turns_lock
    _turns.clear()
    _turns_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_turns)
