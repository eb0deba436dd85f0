"""The sign-in limiter shared by the web page and the API token endpoint.

It counts failed sign-ins per account and per client address (the address the audit
context derived, which believes X-Forwarded-For only from a trusted proxy). Five
failures of one account within 15 minutes lock it; twenty from one address lock the
address (an agency office signs in from one address, so its limit is higher, but an
attacker trying many accounts from one place is stopped). Each lock is longer than
the last (1, 2, 4 … minutes, at most an hour) until the account signs in, an agency
admin unlocks it, or it stays quiet for a day. While a lock holds, every attempt is
refused unchecked, the right password too.

The counters are rows (``SignInCounter``), so every worker shares them. The password
step (``agencies.services.member_authenticate``) and the code step
(``agencies.mfa.code_check``) audit their failures; both refuse a locked attempt and
record the locks a failure sets through ``refuse_while_locked`` and ``locks_record``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from agencies.errors import TooManyAttempts
from agencies.models import SignInCounter, SignInScope
from audit.denials import record_denial
from audit.models import Action, Outcome
from audit.recorder import Actor, record

ACCOUNT_FAILURE_LIMIT = 5
ADDRESS_FAILURE_LIMIT = 20
WINDOW = timedelta(minutes=15)
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)

LIMITS = {SignInScope.ACCOUNT: ACCOUNT_FAILURE_LIMIT, SignInScope.ADDRESS: ADDRESS_FAILURE_LIMIT}


def account_key(username: str) -> str:
    """A keyed digest of the username: what was typed is never stored."""
    return salted_hmac("agencies.signin.account", username, algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class Lock:
    scope: str
    until: datetime
    level: int
    length: timedelta

    def retry_after(self, now: datetime | None = None) -> int:
        """Whole seconds until the lock ends (at least 1)."""
        left = (self.until - (now or timezone.now())).total_seconds()
        return max(1, math.ceil(left))


def lock_length(level: int) -> timedelta:
    """The ``level``-th lock in a row: 1, 2, 4 … minutes, at most ``LONGEST_LOCK``."""
    return min(FIRST_LOCK * 2 ** min(level - 1, 16), LONGEST_LOCK)


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt's counters: its account and, when known, its address."""

    account: str
    address: str | None

    @classmethod
    def of(cls, username: str, client_ip: str | None) -> Attempt:
        return cls(account=account_key(username), address=client_ip or None)

    def counted_as(self) -> dict[str, str]:
        """The counters it counts against: scope -> key."""
        counters = {SignInScope.ACCOUNT: self.account}
        if self.address:
            counters[SignInScope.ADDRESS] = self.address
        return counters


def lock_on(attempt: Attempt) -> Lock | None:
    """The lock that refuses this attempt now (the one that ends last), or None."""
    now = timezone.now()
    scopes = attempt.counted_as()
    held = [
        counter
        for counter in SignInCounter.objects.filter(key__in=scopes.values(), locked_until__gt=now)
        if scopes.get(counter.scope) == counter.key
    ]
    if not held:
        return None
    counter = max(held, key=lambda c: c.locked_until)
    return Lock(counter.scope, counter.locked_until, counter.level, lock_length(counter.level))


def refuse_while_locked(attempt: Attempt, *, actor: Callable[[], Actor | None], request) -> None:
    """While a lock holds, the attempt is refused unchecked: one ``denied`` entry
    naming ``actor()`` (``too_many_attempts``, with the scope) and ``TooManyAttempts``."""
    lock = lock_on(attempt)
    if lock is None:
        return
    with transaction.atomic():
        record_denial(
            actor=actor(),
            code=TooManyAttempts.code,
            status=429,
            request=request,
            detail={"scope": lock.scope},
        )
    raise TooManyAttempts(lock.retry_after())


def locks_record(locks: list[Lock], *, actor: Actor | None) -> None:
    """Audit each lock a failure set: ``sign_in_locked`` with its scope, level and
    length. Call in the failure's transaction."""
    for lock in locks:
        record(
            action=Action.SIGN_IN_LOCKED,
            actor=actor,
            outcome=Outcome.DENIED,
            detail={
                "scope": lock.scope,
                "level": lock.level,
                "seconds": int(lock.length.total_seconds()),
            },
        )


def failure_record(attempt: Attempt) -> list[Lock]:
    """Count a failed attempt against its account and address; returns the locks it
    set. Call inside a transaction: the counters are locked while they change."""
    now = timezone.now()
    SignInCounter.objects.filter(updated_at__lt=now - FORGET_AFTER).delete()
    locks = []
    since = (now - WINDOW).timestamp()
    for scope, key in attempt.counted_as().items():
        counter, _ = SignInCounter.objects.select_for_update().get_or_create(
            scope=scope, key=key, defaults={"updated_at": now}
        )
        recent = [at for at in counter.failures if at > since] + [now.timestamp()]
        if len(recent) >= LIMITS[scope]:
            counter.level += 1
            length = lock_length(counter.level)
            counter.locked_until = now + length
            locks.append(Lock(scope, counter.locked_until, counter.level, length))
            recent = []
        counter.failures = recent
        counter.updated_at = now
        counter.save()
    return locks


def success_record(attempt: Attempt) -> None:
    """The account signed in: its failures and lock level are forgotten (its address's
    are not: one good account must not clear an address that tries many)."""
    SignInCounter.objects.filter(scope=SignInScope.ACCOUNT, key=attempt.account).delete()


def account_unlock(username: str) -> bool:
    """Lift the account's lock and forget its failures; whether a lock was holding."""
    counters = SignInCounter.objects.filter(scope=SignInScope.ACCOUNT, key=account_key(username))
    was_locked = counters.filter(locked_until__gt=timezone.now()).exists()
    counters.delete()
    return was_locked


def accounts_locked_until(usernames: Iterable[str]) -> dict[str, datetime]:
    """When each locked account's lock ends, by username (accounts not locked are absent)."""
    by_key = {account_key(username): username for username in usernames}
    held = SignInCounter.objects.filter(
        scope=SignInScope.ACCOUNT, key__in=by_key, locked_until__gt=timezone.now()
    ).values_list("key", "locked_until")
    return {by_key[key]: until for key, until in held}
