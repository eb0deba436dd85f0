"""Per-survivor data keys: erasure by crypto-shredding.

Everything PII tied to one survivor — the profile, their referrals' narratives, case
notes and status reasons, consent revocation reasons, stored idempotent responses —
is encrypted under a Fernet data key of the survivor's own (``EncryptedTextField`` with
``survivor_key``). The data key is kept wrapped by the field key (the ``MultiFernet``
over ``FIELD_ENCRYPTION_KEYS``) in the key store: a database of its own (alias
``keys``, ``consent.routers``), never inside the data database or its backups.

Erasure empties the wrapped key (``destroy``): from then on every copy of the data
database — the live one, a dump, a backup from before the erasure — holds only tokens
that no key in existence opens. The key store's own backups are kept for a short
window only (docs/operations.md), after which the erasure has reached them too.

A stored value reads ``dk1:<survivor id hex>:<Fernet token>``; a value without the
prefix is a field-key token from before data keys (read as before, moved by
``manage.py adopt_data_keys``). Unwrapped keys are cached for one request or command
(``key_scope``), never process-wide: an erasure in one process holds in every other
from its next request on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from cryptography.fernet import Fernet, InvalidToken
from django.db import connections, transaction
from django.utils import timezone

from agencies.errors import Erased
from consent import crypto
from consent.routers import KEY_STORE

PREFIX = crypto.DATA_KEY_PREFIX
DESTROYED = object()  # the tombstone of an erased survivor's key, as cached
_scope: ContextVar[dict | None] = ContextVar("srn_data_key_scope", default=None)


@contextmanager
def key_scope() -> Iterator[None]:
    """Cache the keys unwrapped inside the block for the block's length only."""
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


class KeyScopeMiddleware:
    """One key scope per request: a key is fetched and unwrapped once per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with key_scope():
            return self.get_response(request)


def _as_uuid(survivor_id) -> uuid.UUID:
    return survivor_id if isinstance(survivor_id, uuid.UUID) else uuid.UUID(str(survivor_id))


def _keys():
    from consent.models import DataKey

    return DataKey.objects.using(KEY_STORE)


def _fetch_wrapped(survivor_id: uuid.UUID) -> str | None:
    # A plain primary-key read on the request's path: the ORM would cost more than it.
    from consent.models import DataKey

    store = connections[KEY_STORE]
    with store.cursor() as cursor:
        cursor.execute(
            "SELECT wrapped FROM consent_datakey WHERE survivor_id = %s",
            [DataKey._meta.pk.get_db_prep_value(survivor_id, store)],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _unwrapped(wrapped: str):
    return DESTROYED if wrapped == "" else Fernet(crypto.decrypt(wrapped).encode("ascii"))


def _remember(survivor_id: uuid.UUID, key) -> None:
    cache = _scope.get()
    if cache is not None:
        cache[survivor_id] = key


def key_of(survivor_id):
    """The survivor's data key (a ``Fernet``), ``DESTROYED``, or None if it has none."""
    survivor_id = _as_uuid(survivor_id)
    cache = _scope.get()
    if cache is not None and survivor_id in cache:
        return cache[survivor_id]
    wrapped = _fetch_wrapped(survivor_id)
    if wrapped is None:
        return None
    key = _unwrapped(wrapped)
    _remember(survivor_id, key)
    return key


def _key_for_writing(survivor_id: uuid.UUID):
    key = key_of(survivor_id)
    if key is None:
        # Committed in the key store at once, before the data it will encrypt commits:
        # a data row must never outlive its key. A rolled-back write leaves an unused
        # key behind, which unlocks nothing.
        wrapped = crypto.encrypt(Fernet.generate_key().decode("ascii"))
        with transaction.atomic(using=KEY_STORE):
            row, _ = _keys().get_or_create(survivor_id=survivor_id, defaults={"wrapped": wrapped})
        key = _unwrapped(row.wrapped)
        _remember(survivor_id, key)
    if key is DESTROYED:
        raise Erased
    return key


def seal(plaintext: str, survivor_id) -> str:
    """Encrypt under the survivor's data key (made on first use); with no survivor,
    under the field key. A survivor whose key was destroyed is erased."""
    if survivor_id is None:
        return crypto.encrypt(plaintext)
    survivor_id = _as_uuid(survivor_id)
    token = _key_for_writing(survivor_id).encrypt(plaintext.encode()).decode("ascii")
    return f"{PREFIX}{survivor_id.hex}:{token}"


def owner_of(token: str) -> uuid.UUID | None:
    """The survivor whose key a stored value is under (None: the field key's)."""
    if not token.startswith(PREFIX):
        return None
    return uuid.UUID(hex=token[len(PREFIX) :].partition(":")[0])


def open_token(token: str) -> str:
    """Decrypt a stored value of either format; an erased survivor's reads as empty."""
    survivor_id = owner_of(token)
    if survivor_id is None:
        return crypto.decrypt(token)
    key = key_of(survivor_id)
    if key is None:
        # Not erased (that leaves a tombstone): the key store is missing or wrong.
        raise crypto.DecryptionFailed("a stored value's data key is not in the key store")
    if key is DESTROYED:
        return ""
    try:
        return key.decrypt(token.partition(":")[2].partition(":")[2].encode("ascii")).decode()
    except InvalidToken:
        raise crypto.DecryptionFailed("a stored value could not be decrypted") from None


def destroy(survivor_id) -> bool:
    """Shred the survivor's data key, leaving a tombstone; True if a key was destroyed
    now, False if there was none left to destroy (idempotent)."""
    survivor_id = _as_uuid(survivor_id)
    now = timezone.now()
    with transaction.atomic(using=KEY_STORE):
        destroyed = (
            _keys().filter(pk=survivor_id).exclude(wrapped="").update(wrapped="", destroyed_at=now)
        )
        if not destroyed:
            _keys().get_or_create(
                survivor_id=survivor_id, defaults={"wrapped": "", "destroyed_at": now}
            )
    _remember(survivor_id, DESTROYED)
    return bool(destroyed)


def is_destroyed(survivor_id) -> bool:
    return key_of(survivor_id) is DESTROYED


def rewrap_all(*, batch_size: int = 500) -> int:
    """Re-wrap every live data key under the newest field key (key rotation); returns
    how many. The data they encrypt does not change."""
    rewrapped = 0
    last = None
    while True:
        page = _keys().exclude(wrapped="").order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page.values_list("pk", "wrapped")[:batch_size])
        if not rows:
            return rewrapped
        with transaction.atomic(using=KEY_STORE):
            for pk, wrapped in rows:
                _keys().filter(pk=pk).update(wrapped=crypto.rotate(wrapped))
        rewrapped += len(rows)
        last = rows[-1][0]


def adopt(*, batch_size: int = 200) -> Iterator[int]:
    """Move values still under the field key alone to their survivor's data key, in
    batches of ``batch_size`` rows, each its own short transaction; yields the rows
    moved per batch (a row with no survivor named stays under the field key). Reads
    accept both formats meanwhile, so the service stays up; a value changed by a
    request in the meantime is left as that request wrote it."""
    from django.db import connection

    quote = connection.ops.quote_name
    for model, names in crypto.encrypted_fields():
        fields = [f for f in map(model._meta.get_field, names) if f.survivor_key is not None]
        if not fields:
            continue
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        columns = [quote(f.column) for f in fields]
        old = " OR ".join(f"({c} <> '' AND {c} NOT LIKE %s)" for c in columns)
        last = None
        while True:
            after = f"{pk} > %s AND " if last is not None else ""
            params = ([last] if last is not None else []) + [f"{PREFIX}%"] * len(columns)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {pk}, {', '.join(columns)} FROM {table} "  # noqa: S608
                        f"WHERE {after}({old}) ORDER BY {pk} LIMIT {int(batch_size)}",
                        params,
                    )
                    rows = cursor.fetchall()
                if not rows:
                    break
                moved = sum(_adopt_row(model, fields, row) for row in rows)
            last = rows[-1][0]
            yield moved


def _adopt_row(model, fields, row) -> bool:
    """Move one row's old values; True if any moved."""
    from django.db import connection

    quote = connection.ops.quote_name
    instance = model._base_manager.get(pk=row[0])
    moved = False
    for field, token in zip(fields, row[1:], strict=True):
        survivor_id = field.survivor_of(instance)
        if not token or token.startswith(PREFIX) or survivor_id is None:
            continue
        sealed = seal(crypto.decrypt(token), survivor_id)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(model._meta.db_table)} SET {quote(field.column)} = %s "  # noqa: S608
                f"WHERE {quote(model._meta.pk.column)} = %s AND {quote(field.column)} = %s",
                [sealed, row[0], token],
            )
            moved = moved or cursor.rowcount > 0
    return moved
