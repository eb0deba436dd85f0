"""Django's SQLite backend, with every transaction taken in this process's write turn
of its database file (``srn.sqlite``): a BEGIN that meets another transaction of the
same process (the audit sealer's, a request's) waits on a Python lock, woken at that
transaction's COMMIT or ROLLBACK, instead of in SQLite's sleeping busy handler. A
transaction of another process is waited for by the busy handler as before."""

import contextlib
import functools

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

from srn.sqlite import turn_of


def _ending(method):
    """``method`` (which ends a transaction, or the connection), then the turn given back."""

    @functools.wraps(method)
    def end(self):
        try:
            return method(self)
        finally:
            self._end_turn()

    return end


class DatabaseWrapper(base.DatabaseWrapper):
    _turn = None  # the write turn this connection's open transaction holds

    def _start_transaction_under_autocommit(self):
        turn = turn_of(self.settings_dict["NAME"])
        # As long as SQLite's busy handler would have waited for the write lock.
        if not turn.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5)):
            raise OperationalError("database is locked")
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            turn.release()
            raise
        self._turn = turn

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            with contextlib.suppress(RuntimeError):  # released already (after a fork)
                turn.release()

    # Each way a transaction ends gives the turn back, however it went.
    _commit = _ending(base.DatabaseWrapper._commit)
    _rollback = _ending(base.DatabaseWrapper._rollback)
    _close = _ending(base.DatabaseWrapper._close)
