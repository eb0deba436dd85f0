"""The embedded profile's SQLite database: one definition, which the benchmark's bare
project (``bench/bare``) uses too, so that both wait and journal alike."""

from __future__ import annotations

from pathlib import Path


def sqlite_database(path: Path) -> dict:
    """Django's ``DATABASES`` entry for the SQLite file at ``path``, in WAL mode."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN: appends to the audit chain
            # serialise instead of failing to upgrade a read lock.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
