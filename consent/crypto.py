"""Encryption at rest for survivor PII and free text.

``MultiFernet`` over dedicated keys (``FIELD_ENCRYPTION_KEYS``, newest first): the
newest encrypts, every listed key decrypts, so keys rotate by prepending a new one and
running ``manage.py rotate_field_keys``. The keys are not derived from
``SECRET_KEY``: a leaked session secret must not unlock survivor data.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, models


@lru_cache(maxsize=1)
def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def _reset_cipher(*, setting, **kwargs):
    if setting == "FIELD_ENCRYPTION_KEYS":
        _cipher.cache_clear()


setting_changed.connect(_reset_cipher)


class DecryptionFailed(Exception):
    """No configured key decrypts a stored value (the key was dropped too early)."""


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise DecryptionFailed("a stored value could not be decrypted") from None


def rotate(token: str) -> str:
    """Re-encrypt under the newest key."""
    return _cipher().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; empty stays empty. Not searchable, by design."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        # Fernet tokens are randomised: equality on ciphertext would silently never match.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted columns, and those columns."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def rotate_all(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored value under the newest key; returns rows rewritten.

    After it, older keys can be dropped from ``FIELD_ENCRYPTION_KEYS``. Values are
    re-encrypted token to token (``MultiFernet.rotate``) through ``update()``, so no
    timestamps move and no plaintext is held longer than one row.
    """
    rewritten = 0
    for model, names in encrypted_fields():
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        columns = ", ".join(quote(model._meta.get_field(n).column) for n in names)
        pk_column = quote(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk_column}, {columns} FROM {table}")  # noqa: S608 (names from model meta)
            rows = cursor.fetchall()
        for row in rows:
            pk, tokens = row[0], row[1:]
            rotated = {
                name: rotate(token) for name, token in zip(names, tokens, strict=True) if token
            }
            if rotated:
                # Write the rotated tokens as they are: bypass get_prep_value.
                sets = ", ".join(f"{quote(model._meta.get_field(n).column)} = %s" for n in rotated)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET {sets} WHERE {pk_column} = %s",  # noqa: S608
                        [*rotated.values(), pk],
                    )
                rewritten += 1
    return rewritten
