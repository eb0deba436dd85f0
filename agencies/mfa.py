"""The second factor: a TOTP app (RFC 6238, django-otp's ``otp_totp``) and ten
single-use recovery codes (``otp_static``).

A member enrols on a page that shows the secret (as a QR code and as text), confirms it
with a code from the app, and is shown the recovery codes once. When ``MFA_REQUIRED``
is on, every member needs a factor; a member who has enrolled needs it whatever the
setting. A sign-in code is checked through the sign-in limiter (``agencies.signin``):
a wrong code counts against the account and the address as a wrong password does. A
TOTP code works once (``TOTPDevice.last_t``: a step already used is refused), a
recovery code once (it is deleted). No secret or code ever reaches the audit trail or a
log; entries name the step and the kind of factor only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import signin
from agencies.errors import (
    AlreadyEnrolled,
    EnrolmentRequired,
    InvalidInput,
    OtpInvalid,
    OtpRequired,
    TooManyAttempts,
)
from agencies.models import Membership
from audit import context
from audit.denials import record_denial
from audit.models import Action, Outcome
from audit.recorder import record
from audit.units import unit

RECOVERY_CODE_COUNT = 10
DEVICE_NAME = "authenticator app"
RECOVERY_NAME = "recovery codes"
TOTP = "totp"
RECOVERY_CODE = "recovery_code"
TOTP_DIGITS = 6  # django-otp's default; recovery codes are 8 letters and digits
# What a code can be (once normalised): TOTP digits or a recovery code (django-otp's
# StaticToken holds up to 16 characters; ours are 8 of base32).
PLAUSIBLE = re.compile(r"[a-z0-9]{6,16}")


@dataclass(frozen=True)
class Factor:
    """The factor a sign-in used, and how many recovery codes remain."""

    kind: str
    recovery_codes_left: int

    def as_detail(self) -> dict:
        return {"factor": self.kind, "recovery_codes_left": self.recovery_codes_left}


def has_factor(user) -> bool:
    """Whether the user has a confirmed TOTP device."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def factor_needed(user) -> bool:
    """Whether signing in takes a second factor: always when ``MFA_REQUIRED``, else for
    members who enrolled one."""
    return settings.MFA_REQUIRED or has_factor(user)


def users_with_factor(user_ids) -> set[int]:
    return set(
        TOTPDevice.objects.filter(user_id__in=list(user_ids), confirmed=True).values_list(
            "user_id", flat=True
        )
    )


def normalised(code: str) -> str:
    """What a person types, as stored: no spaces or dashes, lower case."""
    return "".join(code.split()).replace("-", "").lower()


# --- enrolment --------------------------------------------------------------------------


def device_enrolling(user) -> TOTPDevice | None:
    """The user's unconfirmed device (its secret already shown), if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


@unit
def enrolment_start(*, member: Membership) -> TOTPDevice:
    """The member's unconfirmed TOTP device, created on the first call; the same secret
    is shown until it is confirmed. Audits ``mfa_enrol`` (the secret was shown).
    ``AlreadyEnrolled`` when a confirmed device exists."""
    user = member.user
    if has_factor(user):
        raise AlreadyEnrolled
    device = device_enrolling(user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    record(
        action=Action.MFA_ENROL,
        actor=member.as_actor(),
        object_type="mfa_device",
        object_id=device.pk,
    )
    return device


def enrolment_confirm(*, member: Membership, code: str) -> list[str]:
    """Confirm the unconfirmed device with a code from the app: it becomes the member's
    factor and ten new recovery codes replace any earlier ones; they are returned once.
    Audits ``mfa_confirm``. A wrong code is audited ``mfa_failed`` (``{"step":
    "enrol"}``) and refused with ``InvalidInput`` (the limiter is for sign-ins: the
    secret was only just shown)."""
    with transaction.atomic(durable=True):
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=member.user, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if has_factor(member.user):
            raise AlreadyEnrolled
        if device is not None and device.verify_token(normalised(code)):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=member.user, confirmed=False).delete()
            codes = _recovery_codes_issue(member.user)
            record(
                action=Action.MFA_CONFIRM,
                actor=member.as_actor(),
                object_type="mfa_device",
                object_id=device.pk,
                detail={"recovery_codes": len(codes)},
            )
            return codes
    with transaction.atomic(durable=True):
        record(
            action=Action.MFA_FAILED,
            actor=member.as_actor(),
            outcome=Outcome.DENIED,
            object_type="mfa_device",
            object_id=device.pk if device is not None else "",
            detail={"step": "enrol"},
        )
    raise InvalidInput(fields={"code": [OtpInvalid.detail]})


def _recovery_codes_issue(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def devices_delete(user) -> bool:
    """Remove the user's TOTP devices and recovery codes; whether a factor was set."""
    had = has_factor(user)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return had


# --- sign-in ----------------------------------------------------------------------------


def challenge_record(*, member: Membership) -> str:
    """The password was right and a second factor comes next: audits ``mfa_challenge``
    naming the next step, ``code`` or ``enrol``, which it returns."""
    step = "code" if has_factor(member.user) else "enrol"
    with transaction.atomic():
        record(action=Action.MFA_CHALLENGE, actor=member.as_actor(), detail={"next": step})
    return step


def code_required(*, request, member: Membership) -> None:
    """Refuse a token request that carries no code: one ``denied`` entry naming the
    member, ``OtpRequired``."""
    with transaction.atomic():
        record_denial(actor=member.as_actor(), code=OtpRequired.code, status=401, request=request)
    raise OtpRequired


def code_check(*, request, member: Membership, code: str) -> Factor:
    """Check a sign-in code of a member whose password was right: a TOTP code (each time
    step once) or a recovery code (each once), through the sign-in limiter.

    While a lock holds the code is not checked (``TooManyAttempts``, one ``denied``
    entry). A wrong code is audited ``mfa_failed`` and counted against the account and
    the address; a count that locks also writes ``sign_in_locked`` and raises
    ``TooManyAttempts``, else ``OtpInvalid``. Success clears the account's failures;
    auditing the sign-in it completes is the caller's (``login``, with the factor)."""
    username = member.user.get_username()
    attempt = signin.Attempt.of(username, context.current().client_ip)
    signin.refuse_while_locked(attempt, actor=member.as_actor, request=request)
    if not has_factor(member.user):
        raise EnrolmentRequired
    typed = normalised(code)
    with transaction.atomic():
        factor = _verified(member.user, typed)
        if factor is not None:
            signin.success_record(attempt)
            return factor
        record(
            action=Action.MFA_FAILED,
            actor=member.as_actor(),
            outcome=Outcome.DENIED,
            detail={"step": "sign_in"},
        )
        locks = signin.failure_record(attempt)
        signin.locks_record(locks, actor=member.as_actor())
    if locks:
        raise TooManyAttempts(max(lock.retry_after() for lock in locks))
    raise OtpInvalid


def _verified(user, typed: str) -> Factor | None:
    """The factor ``typed`` matches, used up; None when it matches none. The devices are
    locked while they change: two requests with one code cannot both pass."""
    if not PLAUSIBLE.fullmatch(typed):  # no code looks otherwise: not worth a query
        return None
    totp = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    recovery = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    looks_like_totp = len(typed) == TOTP_DIGITS and typed.isdigit()
    if looks_like_totp and totp is not None and totp.verify_token(typed):
        kind = TOTP
    elif not looks_like_totp and recovery is not None and recovery.verify_token(typed):
        kind = RECOVERY_CODE
    else:
        return None
    left = recovery.token_set.count() if recovery is not None else 0
    return Factor(kind, left)
