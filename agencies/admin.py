"""The Django admin is the compliance officers' read-only window on the trail.

Only an active compliance officer (an active membership in an active agency) gets
in; a superuser flag grants nothing more. Nothing can be added, changed or deleted.
Every admin view writes one audit entry in the transaction that reads its data;
every refusal writes one ``denied`` entry.
"""

from __future__ import annotations

from functools import update_wrapper

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from agencies import services
from agencies.models import Agency, Membership, Role
from agencies.selectors import membership_for
from audit.admin import (
    AuditEntryAdmin,
    CheckpointAdmin,
    DisclosureAdmin,
    FieldChangeAdmin,
    ReadOnlyAdmin,
)
from audit.denials import record_denial
from audit.models import Action, AuditEntry, Checkpoint, Disclosure
from audit.recorder import Actor, record

# Admin views that are not accesses of data: the translation catalog its pages load,
# and logout (audited as ``logout`` by the service).
UNAUDITED_VIEWS = frozenset({"jsi18n", "logout"})
# Site views we do not serve: nothing autocompletes, no model has a public page.
DROPPED_VIEWS = frozenset({"autocomplete", "view_on_site"})
ACTION_BY_VIEW = {"changelist": Action.LIST}
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST"})


def compliance_member(request) -> Membership | None:
    member = membership_for(getattr(request, "user", None))
    if member is None or member.role != Role.COMPLIANCE_OFFICER:
        return None
    return member


class ComplianceAdminSite(admin.AdminSite):
    site_header = "Safe Referral Network: audit trail"
    site_title = "Audit trail"
    index_title = "Compliance"
    final_catch_all_view = False

    def has_permission(self, request) -> bool:
        return compliance_member(request) is not None

    def get_urls(self):
        return [u for u in super().get_urls() if getattr(u, "name", None) not in DROPPED_VIEWS]

    def login(self, request, extra_context=None):
        """One sign-in for the whole service: the audited session login."""
        return redirect_to_login(reverse("admin:index", current_app=self.name), settings.LOGIN_URL)

    @method_decorator(require_POST)
    def logout(self, request, extra_context=None):
        services.logout_record(member=compliance_member(request), token=None)
        logout(request)
        return HttpResponseRedirect(settings.LOGIN_URL)

    def password_change(self, request, extra_context=None):
        raise PermissionDenied("Passwords are not changed through the audit admin.")

    def password_change_done(self, request, extra_context=None):
        raise PermissionDenied("Passwords are not changed through the audit admin.")

    def admin_view(self, view, cacheable=False):
        def inner(request, *args, **kwargs):
            if request.method not in ALLOWED_METHODS:
                return HttpResponseNotAllowed(sorted(ALLOWED_METHODS))
            access = self._access(request, kwargs)
            member = compliance_member(request)
            if member is None:
                return self._refuse(request, access)
            if access is None:
                return view(request, *args, **kwargs)
            action, object_type, object_id, kind = access
            try:
                with transaction.atomic():
                    response = view(request, *args, **kwargs)
                    if hasattr(response, "render"):
                        response.render()  # the data is read here, inside the transaction
                    record(
                        action=action,
                        actor=member.as_actor(),
                        object_type=object_type,
                        object_id=object_id,
                        detail={"admin": kind, "filters": dict(request.GET.items())},
                    )
            except PermissionDenied:  # add, change, delete: refused for everyone
                self._record_refusal(request, member.as_actor(), access, 403, "permission_denied")
                raise
            return response

        if not cacheable:
            inner = never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            inner = csrf_protect(inner)
        return update_wrapper(inner, view)

    @staticmethod
    def _record_refusal(request, actor, access, status, code) -> None:
        _, object_type, object_id, kind = access or ("", "admin", "", "")
        record_denial(
            actor=actor,
            code=code,
            status=status,
            request=request,
            object_type=object_type,
            object_id=object_id,
            detail={"admin": kind},
        )

    def _refuse(self, request, access):
        if not request.user.is_authenticated:
            self._record_refusal(request, None, access, 302, "not_authenticated")
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        member = membership_for(request.user)
        actor = (
            member.as_actor()
            if member is not None
            else Actor(user_id=request.user.pk, username=request.user.get_username())
        )
        self._record_refusal(request, actor, access, 403, "not_compliance_officer")
        # The 403 handler answers JSON (and finds the denial already recorded).
        raise PermissionDenied("Only compliance officers use the audit admin.")

    @staticmethod
    def _access(request, kwargs) -> tuple[str, str, str, str] | None:
        match = request.resolver_match
        name = match.url_name or ""
        if name in UNAUDITED_VIEWS:
            return None
        if name in ("password_change", "password_change_done"):
            return Action.VIEW, "admin_password", "", name
        if name == "index":
            return Action.VIEW, "admin_index", "", "index"
        if name == "app_list":
            return Action.VIEW, "admin_app", kwargs.get("app_label", ""), "app_list"
        model_admin = getattr(match.func, "model_admin", None)
        if model_admin is None:
            return Action.VIEW, "admin", "", name
        kind = name.rsplit("_", 1)[-1] if name else "change"  # unnamed: the id redirect
        object_type = model_admin.audit_object_type or model_admin.model._meta.model_name
        return (
            ACTION_BY_VIEW.get(kind, Action.VIEW),
            object_type,
            str(kwargs.get("object_id", "")),
            kind,
        )


site = ComplianceAdminSite(name="admin")
site.disable_action("delete_selected")


class AgencyAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "kind", "accepting_referrals", "is_active"]
    list_filter = ["kind", "accepting_referrals", "is_active"]
    search_fields = ["slug", "name"]


class MembershipAdmin(ReadOnlyAdmin):
    audit_object_type = "membership"
    list_display = ["user", "agency", "role", "is_active"]
    list_filter = ["role", "is_active", "agency"]


site.register(AuditEntry, AuditEntryAdmin)
site.register(Disclosure, DisclosureAdmin)
site.register(Checkpoint, CheckpointAdmin)
site.register(LogEntry, FieldChangeAdmin)
site.register(Agency, AgencyAdmin)
site.register(Membership, MembershipAdmin)
