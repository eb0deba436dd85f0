"""Django's SQLite backend, with each BEGIN taken in this process's write turn of its
database file (``srn.sqlite.write_turn``): a BEGIN that meets the audit sealer's write
transaction in the same process waits on a Python lock, woken at its COMMIT, instead of
in SQLite's sleeping busy handler."""

from django.db.backends.sqlite3 import base

from srn.sqlite import turn_of


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self):
        with turn_of(self.settings_dict["NAME"]):
            super()._start_transaction_under_autocommit()
