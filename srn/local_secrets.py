"""Secrets for the embedded profile, generated once into an ignored file.

The embedded default must work with no environment at all, yet never ship a fixed
secret: on first start each secret is generated and stored under the data directory
(mode 0600). The production profile never reads this file.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _generate() -> dict[str, str]:
    signing_key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "AUDIT_SIGNING_KEY": base64.b64encode(signing_key).decode(),
    }


def load_or_create(path: Path) -> dict[str, str]:
    """Read the secrets file, creating it atomically (first writer wins) if absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        payload = json.dumps(_generate(), indent=2).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read what it wrote
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
    stored = json.loads(path.read_text())
    missing = {key: value for key, value in _generate().items() if key not in stored}
    if missing:  # a file from an older version: add what it lacks, keep what it has
        stored.update(missing)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    return stored
