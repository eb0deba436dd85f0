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


def members_of(agency: Agency):
    return Membership.objects.select_related("user", "agency").filter(agency=agency)
