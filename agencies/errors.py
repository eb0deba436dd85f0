"""The base of every domain error; ``srn.errors`` maps them to HTTP.

Each carries a stable machine ``code`` and a human ``detail`` that must never hold
survivor PII (it reaches the client and may reach logs).
"""

from __future__ import annotations


class DomainError(Exception):
    """Subclasses declare their ``code`` and default ``detail`` as class keywords:
    ``class NotFound(DomainError, code="not_found", detail="Not found.")``."""

    code = "domain_error"
    detail = "The request could not be carried out."

    def __init_subclass__(cls, *, code: str = "", detail: str = "", **kwargs):
        super().__init_subclass__(**kwargs)
        cls.code = code or cls.code
        cls.detail = detail or cls.detail

    def __init__(self, detail: str | None = None, *, fields: dict | None = None):
        self.detail = detail or self.detail
        self.fields = fields
        super().__init__(self.detail)


class NotFound(DomainError, code="not_found", detail="Not found."):
    """Missing and not-yours alike: existence is never revealed."""


class Forbidden(DomainError, code="permission_denied", detail="Your role does not allow this."):
    """The actor's role may not do this."""


class Conflict(
    DomainError, code="conflict", detail="The request conflicts with the current state."
):
    """The current state refuses the change."""


class InvalidInput(DomainError, code="invalid", detail="Some fields are invalid."):
    """Bad input, with per-field messages in ``fields``."""


class Erased(DomainError, code="erased", detail="This survivor's data was erased."):
    """The survivor's PII was erased (crypto-shredded): gone for good, not hidden."""


class Unauthenticated(
    DomainError,
    code="not_authenticated",
    detail="Authentication credentials were not provided or are not valid.",
):
    """No usable credential."""


class PreconditionFailed(
    DomainError,
    code="precondition_failed",
    detail="The resource changed since you read it (stale If-Match).",
):
    """A stale ``If-Match``."""


class TooManyAttempts(
    DomainError, code="too_many_attempts", detail="Too many failed sign-ins. Try again later."
):
    """Sign-in waits (``agencies.signin``): answered 429 with ``Retry-After``."""

    def __init__(self, retry_after: int):
        minutes = max(1, -(-retry_after // 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed sign-ins. Try again in {minutes} {unit}.")
        self.retry_after = retry_after


class MemberDeactivated(
    Conflict,
    code="member_deactivated",
    detail="This member is deactivated: their role cannot be changed.",
):
    """A deactivated member's role stays as it was."""


# --- the second factor (agencies/mfa.py) -----------------------------------------------


class OtpRequired(
    Unauthenticated,
    code="otp_required",
    detail="A code from your authenticator app (or a recovery code) is required.",
):
    """The account has a second factor and the sign-in gave no code."""


class OtpInvalid(
    Unauthenticated,
    code="otp_invalid",
    detail="That code is not valid (or was used already).",
):
    """A wrong, expired or replayed code; counts against the sign-in limiter."""


class EnrolmentRequired(
    Unauthenticated,
    code="mfa_enrolment_required",
    detail="Enrol a second factor first: sign in on the web, which leads you through it.",
):
    """MFA is required and the member has no factor yet; enrolment is web-only."""


class AlreadyEnrolled(
    Conflict,
    code="mfa_already_enrolled",
    detail="You have a second factor already. An agency admin can reset it.",
):
    """Enrolment while a confirmed factor exists (only a reset starts over)."""


class NoSignInPending(
    Unauthenticated,
    code="sign_in_not_pending",
    detail="Sign in with your password first (the code step waits five minutes).",
):
    """The code step without a password step in the last five minutes."""


class EmergencyAccessDisabled(
    Forbidden,
    code="emergency_access_disabled",
    detail="Emergency access is switched off on this network.",
):
    """``EMERGENCY_ACCESS_ENABLED`` is off: no access opens, none open releases."""


class EmergencyAccessRefused(
    Forbidden,
    code="emergency_access_refused",
    detail="The survivor has refused emergency access to their data.",
):
    """The survivor refused emergency access when revoking a consent."""


class AlreadyReviewed(
    Conflict,
    code="already_reviewed",
    detail="This emergency access has already been reviewed.",
):
    """A use is reviewed once: pending -> justified or unjustified."""
