"""Recompute the chain and check it against signed checkpoints.

Detects an edited entry (its hash no longer matches its content), a deleted or
inserted one (a gap in ``seq`` or a broken predecessor link), reordering (both), and —
with checkpoints, including exported ones — a rewritten or truncated tail.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.utils import timezone

from audit.chain import GENESIS_HASH, content_of, entry_hash
from audit.ledger import LEDGER_FIELDS, disclosures_of
from audit.models import AuditEntry, ChainHead, Checkpoint, Disclosure


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS_HASH

    def as_dict(self) -> dict:
        return self.__dict__.copy()


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


def checkpoint_write() -> Checkpoint | None:
    """Sign the current head (run by ``manage.py audit_checkpoint``); None if empty."""
    head = ChainHead.objects.filter(pk=1).first()
    if head is None or head.seq == 0:
        return None
    existing = Checkpoint.objects.filter(seq=head.seq).first()
    if existing is not None:
        return existing
    signature = _signing_key().sign(_message(head.seq, head.hash)).hex()
    return Checkpoint.objects.create(
        seq=head.seq,
        hash=head.hash,
        signed_at=timezone.now(),
        public_key=public_key_hex(),
        signature=signature,
    )


def checkpoint_is_authentic(checkpoint, public_key: str | None = None) -> bool:
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key or public_key_hex()))
    try:
        key.verify(
            bytes.fromhex(checkpoint["signature"]), _message(checkpoint["seq"], checkpoint["hash"])
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_chain(
    *,
    checkpoints: Iterable[dict] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 5000,
) -> VerifyResult:
    """Walk the whole chain once; stop at the first bad entry and name it.

    ``checkpoints`` default to the stored ones; pass exported ones to also catch a
    deleted tail together with its stored checkpoints.
    """
    if checkpoints is None:
        checkpoints = Checkpoint.objects.values("seq", "hash", "signature", "public_key")
    pinned = {}
    trusted = trusted_public_keys()
    for checkpoint in checkpoints:
        key = checkpoint.get("public_key") or public_key_hex()
        if key not in trusted:
            # A checkpoint carries its own public key; anyone can sign one with theirs.
            return VerifyResult(
                False, 0, checkpoint["seq"], "checkpoint signed by an untrusted key"
            )
        if not checkpoint_is_authentic(checkpoint, key):
            return VerifyResult(False, 0, checkpoint["seq"], "checkpoint signature is invalid")
        pinned[checkpoint["seq"]] = checkpoint["hash"]

    previous, expected, checked = GENESIS_HASH, 1, 0
    rows = AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size)
    # The ledger index must say exactly what the entries say, in the same order.
    ledger = Disclosure.objects.order_by("id").values(*LEDGER_FIELDS).iterator(chunk_size)
    for entry in rows:
        if entry.seq != expected:
            return VerifyResult(False, checked, expected, "entry missing (gap in sequence)")
        if entry.prev_hash != previous:
            return VerifyResult(False, checked, entry.seq, "predecessor link broken")
        if entry.hash != entry_hash(previous, content_of(entry)):
            return VerifyResult(False, checked, entry.seq, "content does not match its hash")
        if entry.seq in pinned and pinned[entry.seq] != entry.hash:
            return VerifyResult(False, checked, entry.seq, "differs from a signed checkpoint")
        for line in disclosures_of(entry):
            if next(ledger, None) != line:
                return VerifyResult(False, checked, entry.seq, "disclosure ledger differs")
        previous, expected, checked = entry.hash, expected + 1, checked + 1
        if progress is not None:
            progress(1)
    last = expected - 1
    extra = next(ledger, None)
    if extra is not None:
        return VerifyResult(
            False, checked, extra["entry_seq"], "disclosure ledger has a line no entry makes"
        )
    beyond = [seq for seq in pinned if seq > last]
    if beyond:
        return VerifyResult(
            False,
            checked,
            last + 1,
            f"chain truncated: a signed checkpoint names entry {max(beyond)}",
        )
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and head.seq > last:
        return VerifyResult(False, checked, last + 1, "chain truncated: head is further on")
    return VerifyResult(True, checked, head_seq=last, head_hash=previous)
