"""Signed checkpoints of the chain head (Ed25519, key kept apart from the database).

Written on their own by the sealer every ``AUDIT_CHECKPOINT_EVERY_ENTRIES`` entries
and, when the head moved, every ``AUDIT_CHECKPOINT_EVERY_SECONDS``; and by
``manage.py audit_checkpoint`` (production's periodic job). Each is stored in the
database and, after its transaction commits, appended to the export file
``AUDIT_CHECKPOINT_EXPORT`` (JSON lines, outside the database), which
``verify_audit`` reads by default: a rewrite or truncation of the tail, with the stored
checkpoints deleted too, is still detected.

An exported checkpoint also carries its *window*: the first 16 hex digits of every
entry hash since the previous checkpoint, signed too, so a consistently rewritten
tail is named at its first altered entry rather than at the checkpoint.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry, ChainHead, Checkpoint

WINDOW_DIGITS = 16
FIELDS = ("seq", "hash", "signature", "public_key")


def _signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.AUDIT_SIGNING_KEY))


def public_key_hex() -> str:
    raw = (
        _signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return raw.hex()


def trusted_public_keys() -> frozenset[str]:
    """The keys a checkpoint may be signed with: the configured signing key's, and
    earlier keys kept in ``AUDIT_TRUSTED_PUBLIC_KEYS`` (hex) after a rotation."""
    return frozenset({public_key_hex(), *(k.lower() for k in settings.AUDIT_TRUSTED_PUBLIC_KEYS)})


def _message(seq: int, digest: str) -> bytes:
    return f"srn-audit-checkpoint:{seq}:{digest}".encode()


def _window_message(first: int, seq: int, hashes: list[str]) -> bytes:
    joined = hashlib.sha256("".join(hashes).encode("ascii")).hexdigest()
    return f"srn-audit-window:{first}:{seq}:{joined}".encode()


def _verify(signature: str, message: bytes, public_key: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint_is_authentic(checkpoint, public_key: str | None = None) -> bool:
    message = _message(checkpoint["seq"], checkpoint["hash"])
    return _verify(checkpoint["signature"], message, public_key or public_key_hex())


def window_of(checkpoint: dict, public_key: str) -> dict[int, str]:
    """seq -> hash prefix of an exported checkpoint's signed window ({} if none/bad)."""
    window = checkpoint.get("window")
    if not isinstance(window, dict):
        return {}
    first, hashes = window.get("first"), window.get("hashes")
    if not isinstance(first, int) or not isinstance(hashes, list):
        return {}
    message = _window_message(first, checkpoint["seq"], hashes)
    if not _verify(str(window.get("signature", "")), message, public_key):
        return {}
    return {first + n: prefix for n, prefix in enumerate(hashes)}


def export_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_EXPORT)


def _exported_line(checkpoint: Checkpoint, previous_seq: int) -> dict:
    hashes = [
        digest[:WINDOW_DIGITS]
        for digest in AuditEntry.objects.filter(seq__gt=previous_seq, seq__lte=checkpoint.seq)
        .order_by("seq")
        .values_list("hash", flat=True)
    ]
    first = checkpoint.seq - len(hashes) + 1
    signature = _signing_key().sign(_window_message(first, checkpoint.seq, hashes)).hex()
    return {
        **{name: getattr(checkpoint, name) for name in FIELDS},
        "signed_at": checkpoint.signed_at.isoformat(),
        "window": {"first": first, "hashes": hashes, "signature": signature},
    }


def _append(line: dict) -> None:
    path = export_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(line, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def sign_head(head: ChainHead) -> Checkpoint:
    """Store a signed checkpoint of ``head`` and export it once its transaction commits."""
    existing = Checkpoint.objects.filter(seq=head.seq).first()
    if existing is not None:
        return existing
    previous = Checkpoint.objects.filter(seq__lt=head.seq).order_by("-seq").first()
    checkpoint = Checkpoint.objects.create(
        seq=head.seq,
        hash=head.hash,
        signed_at=timezone.now(),
        public_key=public_key_hex(),
        signature=_signing_key().sign(_message(head.seq, head.hash)).hex(),
    )
    line = _exported_line(checkpoint, previous.seq if previous else 0)
    transaction.on_commit(lambda: _append(line), robust=True)
    return checkpoint


def due(head: ChainHead) -> bool:
    """Whether the sealer should sign ``head`` now (one indexed query)."""
    last = Checkpoint.objects.order_by("-seq").values_list("seq", "signed_at").first()
    return due_after(head, *(last or (None, None)))


def due_after(head: ChainHead, seq: int | None, signed_at) -> bool:
    """Whether ``head`` is due a checkpoint after the newest one (``seq`` signed at
    ``signed_at``; ``None``: there is none)."""
    if seq is None:
        return head.seq > 0
    if head.seq - seq >= settings.AUDIT_CHECKPOINT_EVERY_ENTRIES:
        return True
    interval = timedelta(seconds=settings.AUDIT_CHECKPOINT_EVERY_SECONDS)
    return head.seq > seq and timezone.now() - signed_at >= interval


def checkpoint_write() -> Checkpoint | None:
    """Sign the current head (``manage.py audit_checkpoint``); None if empty."""
    with transaction.atomic():
        head = ChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None or head.seq == 0:
            return None
        return sign_head(head)


def stored() -> list[dict]:
    return list(Checkpoint.objects.values(*FIELDS))


def exported(path: str | os.PathLike | None = None) -> list[dict]:
    """Checkpoints from an export: JSON lines (what the sealer appends) or a JSON list
    (what ``audit_checkpoint --export`` wrote before); [] if the file is absent."""
    target = Path(path) if path else export_path()
    if not target.exists():
        return []
    text = target.read_text()
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]
