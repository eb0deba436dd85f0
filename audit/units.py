"""Units of work: a change and its record commit together, or neither does.

Every service is one unit (``@unit``): on its own, one durable transaction, so that
"the service returned" means "the change, its audit entry and its events are
committed". A face that must commit something of its own in the *same* transaction
as the change (the ``Idempotency-Key`` claim and the response stored for replay) opens
``request_unit()`` around the call: the service then joins that one transaction,
and the after-commit work (the audit sealer, the outbox nudges) runs once it commits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")

# The connection whose request-level unit is open in this context. A connection, not a
# flag: code run on another thread (another connection) must not think it joined.
_open_on: ContextVar[object | None] = ContextVar("srn_request_unit", default=None)


@contextmanager
def request_unit() -> Iterator[None]:
    """One durable transaction that the services called inside it join."""
    with transaction.atomic(durable=True):
        token = _open_on.set(transaction.get_connection())
        try:
            yield
        finally:
            _open_on.reset(token)


def joined() -> bool:
    """Whether the caller runs inside an open ``request_unit()`` on its own connection."""
    connection = transaction.get_connection()
    return _open_on.get() is connection and connection.in_atomic_block


def unit(service: Callable[P, R]) -> Callable[P, R]:
    """Run ``service`` as one unit of work: durable on its own, or inside the
    enclosing ``request_unit()`` (no savepoint: an error ends the whole unit)."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if joined():
            with transaction.atomic(savepoint=False):
                return service(*args, **kwargs)
        with transaction.atomic(durable=True):
            return service(*args, **kwargs)

    return run
