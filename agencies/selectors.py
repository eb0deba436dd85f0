from __future__ import annotations

from agencies.models import Agency, Membership


def membership_for(user) -> Membership | None:
    """The user's usable membership, or None (anonymous, inactive, or inactive agency)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_srn_membership", None)
    if cached is not None:
        return cached
    membership = (
        Membership.objects.select_related("agency", "user")
        .filter(user=user, is_active=True, agency__is_active=True)
        .first()
    )
    user._srn_membership = membership
    return membership


def agency_directory():
    """Active agencies, for every member: names and services, nothing about survivors."""
    return Agency.objects.filter(is_active=True)


def recipient_agencies(
    actor_agency_id: int, ids, *, accepting_only: bool = False
) -> tuple[list[Agency], str | None]:
    """Active agencies named as recipients, or the reason the list is unacceptable.

    ``accepting_only`` (a new referral): an agency that is not accepting referrals now
    cannot be chosen. A consent may still name it (the survivor's choice about a
    referral it already has)."""
    ids = list(dict.fromkeys(ids or ()))
    if not ids:
        return [], "Name at least one recipient agency."
    if actor_agency_id in ids:
        return [], "Your own agency cannot be a recipient."
    found = list(Agency.objects.filter(pk__in=ids, is_active=True))
    if len(found) != len(ids):
        return [], "Unknown or inactive agency."
    closed = sorted(agency.name for agency in found if not agency.accepting_referrals)
    if accepting_only and closed:
        verb = "is" if len(closed) == 1 else "are"
        return [], f"{', '.join(closed)} {verb} not accepting referrals."
    return found, None


def members_of(agency: Agency):
    return Membership.objects.select_related("user", "agency").filter(agency=agency)
