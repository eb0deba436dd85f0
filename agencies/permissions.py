"""Who may call an endpoint. Deny by default: every view needs an active member."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from agencies.models import Role
from agencies.selectors import membership_for


class IsActiveMember(BasePermission):
    """An authenticated, active user with an active membership in an active agency.

    Sets ``request.member`` for the view.
    """

    message = "You must be an active member of an active agency."
    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        member = membership_for(request.user)
        if member is None:
            return False
        request.member = member
        if self.roles and member.role not in self.roles:
            self.message = "Your role does not allow this."
            return False
        return True


def role_required(*roles: str) -> type[IsActiveMember]:
    allowed = tuple(Role(role).value for role in roles)
    return type(f"Is_{'_or_'.join(allowed)}", (IsActiveMember,), {"roles": allowed})
