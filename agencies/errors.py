"""The base of every domain error; ``srn.errors`` maps them to HTTP.

Each carries a stable machine ``code`` and a human ``detail`` that must never hold
survivor PII (it reaches the client and may reach logs).
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    detail = "The request could not be carried out."

    def __init__(self, detail: str | None = None, *, fields: dict | None = None):
        self.detail = detail or self.detail
        self.fields = fields
        super().__init__(self.detail)


class NotFound(DomainError):
    """Missing and not-yours alike: existence is never revealed."""

    code = "not_found"
    detail = "Not found."


class Forbidden(DomainError):
    code = "permission_denied"
    detail = "Your role does not allow this."


class Erased(DomainError):
    """The survivor's PII was erased (crypto-shredded): gone for good, not hidden."""

    code = "erased"
    detail = "This survivor's data was erased."


class Conflict(DomainError):
    code = "conflict"
    detail = "The request conflicts with the current state."


class InvalidInput(DomainError):
    code = "invalid"
    detail = "Some fields are invalid."


class Unauthenticated(DomainError):
    code = "not_authenticated"
    detail = "Authentication credentials were not provided or are not valid."


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    detail = "The resource changed since you read it (stale If-Match)."


class TooManyAttempts(DomainError):
    """Sign-in waits (``agencies.signin``): answered 429 with ``Retry-After``."""

    code = "too_many_attempts"
    detail = "Too many failed sign-ins. Try again later."

    def __init__(self, retry_after: int):
        minutes = max(1, -(-retry_after // 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed sign-ins. Try again in {minutes} {unit}.")
        self.retry_after = retry_after


class MemberDeactivated(Conflict):
    code = "member_deactivated"
    detail = "This member is deactivated: their role cannot be changed."
