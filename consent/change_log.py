"""django-auditlog registration that never tracks a PII field.

auditlog's ``mask_fields`` keeps half of each value and its ``changes`` and
``serialized_data`` hold decrypted plaintext, so PII fields are *excluded* from
tracking entirely, and ``serialize_data`` stays off. Which fields are PII comes from
``consent.categories`` and the ``EncryptedTextField`` type, never from a list typed here.
"""

from __future__ import annotations

from auditlog.registry import auditlog

from consent.categories import PII_FIELDS
from consent.crypto import EncryptedTextField


def pii_fields(model) -> list[str]:
    """Every field of ``model`` that is encrypted or declared PII."""
    fields = model._meta.concrete_fields
    encrypted = {field.name for field in fields if isinstance(field, EncryptedTextField)}
    declared = PII_FIELDS & {field.name for field in fields}
    return sorted(encrypted | declared)


def register_without_pii(model, *, m2m_fields: set[str] | None = None) -> None:
    """Track field-level changes of ``model`` with every PII field excluded."""
    auditlog.register(
        model,
        exclude_fields=pii_fields(model),
        m2m_fields=m2m_fields or set(),
        serialize_data=False,
    )
