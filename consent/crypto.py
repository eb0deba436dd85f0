"""Encryption at rest for survivor PII and free text.

``MultiFernet`` over dedicated keys (``FIELD_ENCRYPTION_KEYS``, newest first): the
newest encrypts, every listed key decrypts, so keys rotate by prepending a new one and
re-saving (``manage.py rotate_field_keys``). The keys are not derived from
``SECRET_KEY``: a leaked session secret must not unlock survivor data.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models


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
