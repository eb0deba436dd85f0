"""Django's SQLite backend, with each BEGIN taken in this process's write turn of its
database file (``srn.sqlite``): a BEGIN that meets the audit sealer's write
transaction in the same process waits on a Python lock, woken at its COMMIT, instead of
in SQLite's sleeping busy handler."""

import contextlib

from django.db.backends.sqlite3 import base

from srn.sqlite import turn_of


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self):
        with turn_of(self.settings_dict["NAME"]):
            super()._start_transaction_under_autocommit()

    def write_turn(self) -> contextlib.AbstractContextManager:
        """Hold this process's write turn of the database file for a write transaction
        about to begin (``audit.sealer``'s). Nothing inside a transaction, which already
        holds SQLite's write lock: waiting for the turn there could wait for a thread
        that waits for that lock."""
        if self.in_atomic_block:
            return contextlib.nullcontext()
        return turn_of(self.settings_dict["NAME"])
