"""Template context for every page: the signed-in member and their navigation."""

from __future__ import annotations

from agencies.selectors import membership_for
from agencies.web.pages import NAVIGATION


def navigation(request) -> dict:
    member = getattr(request, "member", None) or membership_for(getattr(request, "user", None))
    if member is None:
        return {}
    return {"member": member, "navigation": NAVIGATION.get(member.role, [])}
