"""Reads of agencies and memberships. A read shown to a member is audited where it is
selected: ``*_shown`` writes its entry in the caller's transaction, so the entry
commits with the read; views never call the recorder."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from agencies import mfa, signin
from agencies.errors import Forbidden, NotFound
from agencies.models import Agency, Membership, Role
from audit.models import Action
from audit.recorder import record_by

_NOT_JOINED = object()


def membership_for(user) -> Membership | None:
    """The user's usable membership, or None (anonymous, inactive, or inactive agency)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_srn_membership", None)
    if cached is not None:
        return cached
    joined = user._state.fields_cache.get("membership", _NOT_JOINED)
    if joined is _NOT_JOINED:
        membership = (
            Membership.objects.select_related("agency", "user")
            .filter(user=user, is_active=True, agency__is_active=True)
            .first()
        )
    elif joined is not None and joined.is_active and joined.agency.is_active:
        # Joined to the user by the token's lookup (``agencies.authentication``).
        membership = joined
    else:
        membership = None
    user._srn_membership = membership
    return membership


def membership_shown(member: Membership) -> Membership:
    """The member is shown who they are (``me``): one ``view`` of their membership."""
    record_by(member, Action.VIEW, "membership", member.pk)
    return member


def agency_directory() -> QuerySet[Agency]:
    """Active agencies, for every member (by slug, then id): names and services,
    nothing about survivors; not audited until shown."""
    return Agency.objects.filter(is_active=True).order_by("slug", "id")


def agencies_shown(member: Membership, page: Iterable[Agency]) -> list[Agency]:
    """A page of the directory is shown: one ``list`` entry of ``agency``."""
    return _listed(member, "agency", page)


def recipient_agencies(
    actor_agency_id: int, ids, *, accepting_only: bool = False
) -> tuple[list[Agency], str | None]:
    """Active agencies named as recipients, or the reason the list is unacceptable (a
    suspended agency is named: the directory shows every agency's name anyway).

    ``accepting_only`` (a new referral): an agency that is not accepting referrals now
    cannot be chosen. A consent may still name it (the survivor's choice about a
    referral it already has)."""
    ids = list(dict.fromkeys(ids or ()))
    if not ids:
        return [], "Name at least one recipient agency."
    if actor_agency_id in ids:
        return [], "Your own agency cannot be a recipient."
    found = list(Agency.objects.filter(pk__in=ids))
    if len(found) != len(ids):
        return [], "Unknown agency."
    suspended = sorted(agency.name for agency in found if not agency.is_active)
    if suspended:
        verb = "is" if len(suspended) == 1 else "are"
        return [], f"{', '.join(suspended)} {verb} suspended."
    closed = sorted(agency.name for agency in found if not agency.accepting_referrals)
    if accepting_only and closed:
        verb = "is" if len(closed) == 1 else "are"
        return [], f"{', '.join(closed)} {verb} not accepting referrals."
    return found, None


def members_of(agency: Agency) -> QuerySet[Membership]:
    """The agency's memberships, active or not, newest first; not audited until shown."""
    return Membership.objects.select_related("user", "agency").filter(agency=agency).order_by("-id")


def members_shown(member: Membership, page: Iterable[Membership]) -> list[Membership]:
    """A page of the agency's members is shown, with their sign-in locks: one ``list``
    entry of ``membership``."""
    return with_sign_in_state(_listed(member, "membership", page))


def agency_admins_shown(member: Membership, agency_id: int) -> tuple[Agency, list[Membership]]:
    """A network admin is shown an agency's admins with their sign-in state (to reset a
    lost second factor): one ``list`` entry of ``membership``. Another role is
    refused; an unknown agency is not found."""
    if member.role != Role.NETWORK_ADMIN:
        raise Forbidden
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        raise NotFound
    admins = members_of(agency).filter(role=Role.AGENCY_ADMIN)
    return agency, with_sign_in_state(_listed(member, "membership", admins))


def with_sign_in_state(members: list[Membership]) -> list[Membership]:
    """Sets each member's ``locked_until`` (when their sign-in lock ends, or None) and
    ``mfa_enrolled`` (whether they have a second factor)."""
    until = signin.accounts_locked_until(m.user.get_username() for m in members)
    enrolled = mfa.users_with_factor(m.user_id for m in members)
    for member in members:
        member.locked_until = until.get(member.user.get_username())
        member.mfa_enrolled = member.user_id in enrolled
    return members


def _listed(member: Membership, object_type: str, page: Iterable) -> list:
    page = list(page)
    record_by(member, Action.LIST, object_type, detail={"count": len(page)})
    return page
