"""Member and authentication actions. Each writes its audit entry in its transaction."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from agencies import live_auth, mfa, signin
from agencies.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MemberDeactivated,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from agencies.models import AgencyKind, Membership, Role
from agencies.selectors import membership_for
from audit import context
from audit.models import Action, Outcome
from audit.recorder import Actor, record, record_by
from audit.units import unit


class InvalidCredentials(
    Unauthenticated,
    code="invalid_credentials",
    detail="Unable to log in with the given username and password.",
):
    """Wrong username or password, or no usable member: all answer alike."""


def member_authenticate(*, request, username: str, password: str) -> Membership:
    """Check credentials for a usable member, through the sign-in limiter
    (``agencies.signin``) that the page and the API share.

    Unknown user, wrong password, inactive user and inactive membership all fail the
    same way, audited ``login_failed`` (naming the user only if the username exists);
    a failure that locks the account or the address also writes ``sign_in_locked``
    and raises ``TooManyAttempts``. While a lock holds the password is not checked:
    the attempt is refused with ``TooManyAttempts`` and one ``denied`` entry.
    """
    attempt = signin.Attempt.of(username, context.current().client_ip)
    signin.refuse_while_locked(attempt, actor=lambda: _attempted_as(username), request=request)
    user = authenticate(request, username=username, password=password)
    member = membership_for(user) if user is not None else None
    if member is not None:
        # With a second factor to come, the account's failures are forgotten only once
        # the code is right: a right password must not reset the count of wrong codes.
        if not mfa.factor_needed(member.user):
            signin.success_record(attempt)
        return member
    actor = _attempted_as(username)
    with transaction.atomic():
        record(
            action=Action.LOGIN_FAILED,
            actor=actor,
            outcome=Outcome.DENIED,
            detail={"reason": "bad_credentials" if actor else "unknown_user"},
        )
        locks = signin.failure_record(attempt)
        signin.locks_record(locks, actor=actor)
    if locks:
        raise TooManyAttempts(max(lock.retry_after() for lock in locks))
    raise InvalidCredentials


def _attempted_as(username: str) -> Actor | None:
    """The user an attempt named, if that username exists (else nobody: what was typed
    may be a password in the wrong box)."""
    known = get_user_model().objects.filter(username=username).only("id").first()
    return Actor(user_id=known.pk, username=username) if known else None


@unit
def token_issue(*, member: Membership, factor: mfa.Factor | None = None) -> tuple[AuthToken, str]:
    """Issue an expiring, hashed API token (sweeping the user's expired ones); audits
    ``login`` (with the second factor used, if any)."""
    AuthToken.objects.filter(user=member.user, expiry__lt=timezone.now()).delete()
    instance, token = AuthToken.objects.create(member.user)
    record_by(
        member,
        Action.LOGIN,
        "token",
        instance.token_key,
        detail={"method": "token"} | (factor.as_detail() if factor else {}),
    )
    return instance, token


def login_record(*, member: Membership, method: str, factor: mfa.Factor | None = None) -> None:
    """Audits ``login`` (with the second factor used, if any)."""
    with transaction.atomic():
        record_by(
            member, Action.LOGIN, detail={"method": method} | (factor.as_detail() if factor else {})
        )


@unit
def logout_record(
    *,
    member: Membership,
    token: AuthToken | None,
    session_key: str | None = None,
    reason: str | None = None,
) -> None:
    """Audits ``logout`` (with the ``reason`` when the server ended the session, e.g.
    ``idle``); deletes the token that made the request, if any, and closes the live
    sockets opened under it (under the session, for a browser; all of the user's when
    the session is unknown)."""
    if token is not None:
        credential = live_auth.token_credential(token)
        token.delete()
    else:
        credential = live_auth.session_credential(session_key) if session_key else None
    live_auth.sockets_end(user_id=member.user_id, credential=credential, reason="logout")
    record_by(
        member,
        Action.LOGOUT,
        detail={"method": "token" if token is not None else "session"}
        | ({"reason": reason} if reason else {}),
    )


def _check_admin_of(actor: Membership, target: Membership) -> None:
    if actor.role != Role.AGENCY_ADMIN:
        raise Forbidden
    if target.agency_id != actor.agency_id:
        raise NotFound
    if target.role == Role.NETWORK_ADMIN:  # the network's, not the agency's, to manage
        raise Forbidden


def _check_grantable(actor: Membership, role: str) -> None:
    if role not in Role.values:
        raise InvalidInput(fields={"role": [f"Must be one of {', '.join(Role.values)}."]})
    if role == Role.NETWORK_ADMIN:  # only by invitation from a network admin
        raise InvalidInput(fields={"role": ["Agency admins cannot grant this role."]})
    # Compliance officers read the whole network's audit trail: only an oversight
    # (government) agency may have them.
    if role == Role.COMPLIANCE_OFFICER and actor.agency.kind != AgencyKind.GOVERNMENT:
        raise InvalidInput(
            fields={"role": ["Only a government (oversight) agency may have compliance officers."]}
        )


@unit
def member_add(*, actor: Membership, username: str, password: str, role: str) -> Membership:
    """An agency admin adds a user to their own agency. Audits ``member_add``."""
    if actor.role != Role.AGENCY_ADMIN:
        raise Forbidden
    _check_grantable(actor, role)
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise InvalidInput(fields={"username": ["This username is taken."]})
    user = user_model(username=username)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(fields={"password": list(error.messages)}) from None
    user.set_password(password)
    user.save()
    member = Membership.objects.create(user=user, agency=actor.agency, role=role)
    record_by(actor, Action.MEMBER_ADD, "membership", member.pk, detail={"role": role})
    return member


@unit
def member_change_role(*, actor: Membership, member_id: int, role: str) -> Membership:
    """An agency admin changes an active member's role. Audits ``member_update``."""
    target = _locked_member(member_id)
    _check_admin_of(actor, target)
    if not target.is_active:
        raise MemberDeactivated
    _check_grantable(actor, role)
    if target.pk == actor.pk:
        raise Conflict("You cannot change your own role.")
    previous, target.role = target.role, role
    target.save(update_fields=["role", "updated_at"])
    live_auth.sockets_end(user_id=target.user_id, reason="role_changed")
    record_by(
        actor,
        Action.MEMBER_UPDATE,
        "membership",
        target.pk,
        detail={"role": role, "previous_role": previous},
    )
    return target


@unit
def member_deactivate(*, actor: Membership, member_id: int) -> Membership:
    """Deactivate a member of the admin's agency: their tokens and sessions end now.

    Audits ``member_deactivate``. Session ending is belt and braces: an inactive user
    is already refused by the authentication backend on the next request.
    """
    target = _locked_member(member_id)
    _check_admin_of(actor, target)
    if target.pk == actor.pk:
        raise Conflict("You cannot deactivate yourself.")
    target.is_active = False
    target.save(update_fields=["is_active", "updated_at"])
    user = target.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    _signed_out_everywhere(user, reason="deactivated")
    record_by(actor, Action.MEMBER_DEACTIVATE, "membership", target.pk)
    return target


@transaction.atomic
def member_unlock(*, actor: Membership, member_id: int) -> Membership:
    """An agency admin lifts a member's sign-in lock and clears their recent failures
    (a lock of the address they sign in from stays). Audits ``member_unlock``, saying
    whether a lock was holding."""
    target = _locked_member(member_id)
    _check_admin_of(actor, target)
    was_locked = signin.account_unlock(target.user.get_username())
    record_by(
        actor, Action.MEMBER_UNLOCK, "membership", target.pk, detail={"was_locked": was_locked}
    )
    return target


@unit
def mfa_reset(*, actor: Membership, member_id: int) -> Membership:
    """Remove a member's second factor (TOTP device and recovery codes), e.g. after a
    lost phone: they enrol again at their next sign-in. An agency admin resets the
    members of their agency; a network admin, any agency's admins. Nobody resets their
    own. The member's tokens, sessions and sockets end (whoever holds them may be who
    took the phone). Audits ``mfa_reset``, saying whether a factor was set."""
    target = _locked_member(member_id)
    if actor.role == Role.NETWORK_ADMIN:
        if target.role != Role.AGENCY_ADMIN:
            raise Forbidden
    else:
        _check_admin_of(actor, target)
    if target.pk == actor.pk:
        raise Conflict("You cannot reset your own second factor; ask another admin.")
    had_factor = mfa.devices_delete(target.user)
    _signed_out_everywhere(target.user, reason="mfa_reset")
    record(
        action=Action.MFA_RESET,
        actor=actor.as_actor(),
        object_type="membership",
        object_id=target.pk,
        detail={"had_factor": had_factor},
    )
    return target


def _signed_out_everywhere(user, *, reason: str) -> None:
    """End the user's API tokens, browser sessions and live sockets."""
    AuthToken.objects.filter(user=user).delete()
    _end_sessions_of(user.pk)
    live_auth.sockets_end(user_id=user.pk, reason=reason)


def _locked_member(member_id: int) -> Membership:
    member = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "agency")
        .filter(pk=member_id)
        .first()
    )
    if member is None:
        raise NotFound
    return member


def _end_sessions_of(user_id: int) -> None:
    wanted = str(user_id)
    stale = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == wanted
    ]
    Session.objects.filter(session_key__in=stale).delete()
