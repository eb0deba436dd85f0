"""Invitations and password resets: single-use links, valid ``INVITATION_TTL_HOURS``,
sent by email through Django's email framework. Only each token's SHA-256 is stored;
the token itself exists in the email (or, for the bootstrap, on the operator's
terminal) and nowhere else.

Who may invite whom: a network admin invites an agency's admins, and a government
agency's network admins and compliance officers; an agency admin invites liaisons,
caseworkers and agency admins into their own agency. Every step is audited; a refused
link leaves one ``denied`` entry naming why (``unknown``, ``used``, ``expired``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from agencies import live_auth
from agencies.errors import Forbidden, InvalidInput, NotFound
from agencies.models import Agency, AgencyKind, Invitation, InvitationKind, Membership, Role
from agencies.network import _end_sessions_of
from audit.denials import record_denial
from audit.models import Action
from audit.recorder import Actor, record, record_by

# Roles an agency admin may invite into their own agency.
AGENCY_ADMIN_INVITES = (Role.LIAISON, Role.CASEWORKER, Role.AGENCY_ADMIN)
# Roles only a government (oversight) agency may hold.
OVERSIGHT_ROLES = (Role.NETWORK_ADMIN, Role.COMPLIANCE_OFFICER)
TOKEN_BYTES = 32


class InvitationInvalid(
    NotFound,
    code="invitation_invalid",
    detail="This link is not valid: it may have been used or have expired.",
):
    """Unknown (mistyped, tampered), used or expired: all answer alike."""


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_for(token: str) -> str:
    return f"{settings.SITE_URL}/invitations/{token}/"


def _check_invitable(actor: Membership, agency: Agency, role: str) -> None:
    if actor.role == Role.NETWORK_ADMIN:
        if role in OVERSIGHT_ROLES and agency.kind != AgencyKind.GOVERNMENT:
            raise InvalidInput(fields={"role": ["Only a government agency may hold this role."]})
        if role not in (Role.AGENCY_ADMIN, *OVERSIGHT_ROLES):
            raise InvalidInput(
                fields={"role": ["Network admins invite agency admins; they invite members."]}
            )
        return
    if actor.role != Role.AGENCY_ADMIN:
        raise Forbidden
    if agency.pk != actor.agency_id:
        raise NotFound
    if role not in AGENCY_ADMIN_INVITES:
        raise InvalidInput(fields={"role": ["Agency admins cannot grant this role."]})


@transaction.atomic
def invitation_create(
    *, actor: Membership, agency_id: int, role: str, username: str, email: str
) -> Invitation:
    """Invite ``username`` to join an agency in ``role`` and email them the link.

    An earlier pending invitation for the same username ends (the newest link works).
    The email leaves inside the transaction: no invitation is stored unless its email
    was handed to the mail system. Audits ``create`` of ``invitation``."""
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        raise NotFound
    _check_invitable(actor, agency, role)
    if not agency.is_active:
        raise InvalidInput(fields={"agency": ["This agency is suspended."]})
    if get_user_model().objects.filter(username=username).exists():
        raise InvalidInput(fields={"username": ["This username is taken."]})
    superseded = _end_pending(username)
    invitation, token = _issue(
        kind=InvitationKind.INVITATION,
        agency=agency,
        role=role,
        username=username,
        email=email,
        invited_by=actor,
    )
    record_by(
        actor,
        Action.CREATE,
        "invitation",
        invitation.pk,
        detail={"agency": agency.slug, "role": role, "superseded": superseded},
    )
    _send(invitation, token)
    return invitation


def invitation_for_existing(*, member: Membership, email: str) -> tuple[Invitation, str]:
    """A link for a member who has no usable password yet (``bootstrap_network``): the
    token is returned once, for the caller to hand over. Audits ``create`` of
    ``invitation`` as the system. Call inside the caller's transaction."""
    invitation, token = _issue(
        kind=InvitationKind.INVITATION,
        agency=member.agency,
        role=member.role,
        username=member.user.username,
        email=email,
        user=member.user,
    )
    record(
        action=Action.CREATE,
        actor=None,
        object_type="invitation",
        object_id=invitation.pk,
        detail={"agency": member.agency.slug, "role": member.role, "via": "bootstrap_network"},
    )
    return invitation, token


def password_reset_request(*, username: str) -> None:
    """Email a reset link to a usable member with an email address; for anyone else do
    nothing visible (the answer never reveals whether an account exists). Audits
    ``create`` of ``password_reset`` either way (the entry says whether a link went)."""
    user = get_user_model().objects.filter(username=username).first()
    member = (
        Membership.objects.select_related("agency", "user").filter(user=user).first()
        if user is not None
        else None
    )
    usable = member is not None and member.is_usable and bool(user.email)
    with transaction.atomic():
        invitation = token = None
        if usable:
            _end_pending(username)
            invitation, token = _issue(
                kind=InvitationKind.PASSWORD_RESET,
                agency=member.agency,
                role=member.role,
                username=username,
                email=user.email,
                user=user,
            )
        record(
            action=Action.CREATE,
            actor=member.as_actor()
            if member is not None
            else (Actor(user_id=user.pk, username=username) if user is not None else None),
            object_type="password_reset",
            object_id=invitation.pk if invitation else "",
            detail={"sent": usable},
        )
        if invitation is not None:
            _send(invitation, token)


def invitation_open(*, token: str) -> Invitation:
    """The invitation behind a link, for the page that sets the password (not used up).
    Audits ``view`` of ``invitation``; a bad link, one ``denied`` entry."""
    invitation = _valid(token)
    with transaction.atomic():
        record(
            action=Action.VIEW,
            actor=None,
            object_type="invitation",
            object_id=invitation.pk,
            detail={"kind": invitation.kind},
        )
    return invitation


def invitation_accept(*, token: str, password: str) -> Membership:
    """Use a link once: set the password (Django's validators) of the invited account,
    creating it and its membership for a new invitee. A reset also ends the account's
    tokens, sessions and sockets. Audits ``member_add`` (a new member) or ``update`` of
    ``password``, as the member."""
    _valid(token)  # a bad link is refused (and its entry committed) before any work
    with transaction.atomic():
        return _accept(token, password)


def _accept(token: str, password: str) -> Membership:
    invitation = _valid(token, lock=True)  # again, locked: two tabs cannot both use it
    user_model = get_user_model()
    user = invitation.user or user_model(username=invitation.username, email=invitation.email)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(fields={"password": list(error.messages)}) from None
    if invitation.user is None:
        if user_model.objects.filter(username=invitation.username).exists():
            _refuse(invitation, "username_taken")
        if not invitation.agency.is_active:
            _refuse(invitation, "agency_suspended")
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    user.set_password(password)
    user.save()
    if invitation.user is None:
        member = Membership.objects.create(
            user=user, agency=invitation.agency, role=invitation.role
        )
        action, object_type, facts = Action.MEMBER_ADD, "membership", {"role": member.role}
    else:
        member = Membership.objects.select_related("agency", "user").get(user=user)
        if invitation.kind == InvitationKind.PASSWORD_RESET:
            AuthToken.objects.filter(user=user).delete()
            _end_sessions_of([user.pk])
            live_auth.sockets_end(user_id=user.pk, reason="password_reset")
        action, object_type, facts = Action.UPDATE, "password", {"kind": invitation.kind}
    record_by(member, action, object_type, member.pk, detail=facts | {"invitation": invitation.pk})
    return member


# --- internals ----------------------------------------------------------------------


def _issue(**fields) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation.objects.create(
        digest=digest_of(token),
        expires_at=timezone.now() + timedelta(hours=settings.INVITATION_TTL_HOURS),
        **fields,
    )
    return invitation, token


def _end_pending(username: str) -> int:
    now = timezone.now()
    return Invitation.objects.filter(
        username=username, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)


def _valid(token, *, lock: bool = False) -> Invitation:
    """The usable invitation behind ``token``, or a refusal (one ``denied`` entry)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        _refuse(None, "unknown")
    rows = Invitation.objects.select_related("agency", "user")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(digest=digest_of(token)).first()
    if invitation is None:
        _refuse(None, "unknown")
    if invitation.used_at is not None:
        _refuse(invitation, "used")
    if invitation.expires_at <= timezone.now():
        _refuse(invitation, "expired")
    return invitation


def _refuse(invitation: Invitation | None, reason: str):
    """One ``denied`` entry naming why, then the refusal. Outside a transaction it
    commits at once; inside one it rolls back with it, and the error handler writes the
    request's one entry instead."""
    record_denial(
        actor=None,
        code=InvitationInvalid.code,
        status=404,
        object_type="invitation",
        object_id=str(invitation.pk) if invitation else "",
        detail={"reason": reason},
    )
    raise InvitationInvalid


def _send(invitation: Invitation, token: str) -> None:
    """The email: who invited them to which agency and role, or that a reset was asked
    for, and the link. Never survivor data."""
    hours = settings.INVITATION_TTL_HOURS
    if invitation.kind == InvitationKind.PASSWORD_RESET:
        subject = "Reset your Safe Referral Network password"
        opening = "Someone asked to reset the password of your Safe Referral Network account."
        closing = "If it was not you, ignore this message: your password stays as it is."
    else:
        subject = f"You are invited to {invitation.agency.name} on the Safe Referral Network"
        opening = (
            f"You are invited to join {invitation.agency.name} on the Safe Referral Network "
            f"as {invitation.get_role_display()}, with the username {invitation.username}."
        )
        closing = "If you did not expect this invitation, ignore this message."
    body = (
        f"{opening}\n\nSet your password here (the link works once, for {hours} hours):\n"
        f"{link_for(token)}\n\n{closing}\n"
    )
    send_mail(subject, body, None, [invitation.email], fail_silently=False)
