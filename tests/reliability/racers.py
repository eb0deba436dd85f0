"""Client processes for the revocation race (started with ``spawn``; no Django here).

Per round both wait at the barrier; the revoker posts the revocation and, only once
its answer is in (the revocation committed), sets the round's event; the reader keeps
reading the referral, noting for each read whether the event was set *before* the read
began."""

from __future__ import annotations

import time

from tests.reliability import wire

READS_AFTER = 5  # reads per round after the revocation committed


def revoker(port: int, token: str, consent_ids: list[str], start, committed, results) -> None:
    for consent_id, done in zip(consent_ids, committed, strict=True):
        start.wait(timeout=30)
        reply = wire.call(
            port,
            "POST",
            f"/api/v1/consents/{consent_id}/revoke/",
            token=token,
            body={"reason": "survivor asked", "channel": "oral"},
        )
        done.set()
        results.put(("revoked", reply.status))


def reader(
    port: int, token: str, referral_ids: list[str], revoked: list[str], start, committed, results
) -> None:
    for referral_id, done in zip(referral_ids, committed, strict=True):
        start.wait(timeout=30)
        after, deadline = 0, time.monotonic() + 30
        while after < READS_AFTER and time.monotonic() < deadline:
            began_after_commit = done.is_set()
            reply = wire.call(port, "GET", f"/api/v1/referrals/{referral_id}/", token=token)
            shown = reply.body if reply.status == 200 and reply.body else {}
            leaked = bool(
                set(shown.get("released_categories", ())) & set(revoked)
                or "given_name" in shown.get("survivor", {})
            )
            results.put(("read", began_after_commit, reply.status, leaked))
            after += began_after_commit
