"""Encryption at rest for survivor PII and free text.

``MultiFernet`` over dedicated keys (``FIELD_ENCRYPTION_KEYS``, newest first): the
newest encrypts, every listed key decrypts, so keys rotate by prepending a new one and
running ``manage.py rotate_field_keys``. The keys are not derived from
``SECRET_KEY``: a leaked session secret must not unlock survivor data.
"""

from __future__ import annotations

from functools import lru_cache
from operator import attrgetter

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


# The prefix of a value under a survivor's data key (``consent.data_keys``).
DATA_KEY_PREFIX = "dk1:"


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


class Sealed(str):
    """A value already encrypted for storage: written as it is."""


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; empty stays empty. Not searchable, by design.

    With ``survivor_key`` (the attribute path from a row to its survivor's id, e.g.
    ``"referral.survivor_id"``) values are encrypted under that survivor's own data key
    (``consent.data_keys``), so that erasing the survivor shreds them; they must then be
    written through ``save()``/``create()`` (``pre_save`` knows the row), never
    ``update()``. Reads accept both formats: rows written under the field key alone
    stay readable until ``manage.py adopt_data_keys`` has moved them.
    """

    description = "Text encrypted at rest"

    def __init__(self, *args, survivor_key: str | None = None, **kwargs):
        self.survivor_key = survivor_key
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.survivor_key is not None:
            kwargs["survivor_key"] = self.survivor_key
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        from consent import data_keys

        return data_keys.open_token(value)

    def survivor_of(self, instance):
        """The id of the survivor whose key encrypts this field of ``instance``, or None."""
        if self.survivor_key is None:
            return None
        return attrgetter(self.survivor_key)(instance)

    def pre_save(self, model_instance, add):
        value = super().pre_save(model_instance, add)
        if value is None or value == "" or isinstance(value, Sealed):
            return value
        from consent import data_keys

        return Sealed(data_keys.seal(str(value), self.survivor_of(model_instance)))

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or isinstance(value, Sealed):
            return value
        if self.survivor_key is not None:
            raise TypeError(
                f"{self.model.__name__}.{self.name} is encrypted under its survivor's key: "
                "write it with save(), not update()."
            )
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

    With ``consent.data_keys.rewrap_all`` (the survivors' wrapped data keys), older
    keys can then be dropped from ``FIELD_ENCRYPTION_KEYS``. Values are
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
            # A survivor's data-key tokens are not under the field key: their wrapped
            # key is what rotates (``data_keys.rewrap_all``).
            rotated = {
                name: rotate(token)
                for name, token in zip(names, tokens, strict=True)
                if token and not token.startswith(DATA_KEY_PREFIX)
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
