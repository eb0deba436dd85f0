"""The embedded profile's SQLite database: one definition, which the benchmark's bare
project (``bench/bare``) uses too, so that both wait and journal alike.

SQLite has one writer at a time. A ``BEGIN IMMEDIATE`` that finds the write lock held
waits in SQLite's busy handler, which sleeps 1, 2, 5, 10 … ms between tries: a request
whose BEGIN meets a 1.5 ms write of another thread pays 3 ms. Within one process the
audit sealer's write transaction (``audit.sealer``) is therefore taken as a *write
turn* (``connection.write_turn()``, ``srn.backends.sqlite3``), a Python lock per
database file, and every BEGIN of the process's connections to that file waits for the
turn before asking SQLite: it wakes when the sealer's COMMIT releases it, with no
sleep. Between processes nothing
changes (the busy handler as before).
"""

from __future__ import annotations

import threading
from pathlib import Path

ENGINE = "srn.backends.sqlite3"  # Django's, with BEGIN taken in turn (``write_turn``)
_turns: dict[str, threading.RLock] = {}
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


def turn_of(name) -> threading.RLock:
    """The write turn of the database file ``name`` in this process."""
    key = str(name)
    with _turns_lock:
        return _turns.setdefault(key, threading.RLock())
