"""Read-only admin classes for the audit trail.

They are registered on the compliance officers' admin site (``agencies.admin``), not
on Django's default site: no one adds, changes or deletes anything through them.
"""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin
from django.contrib import admin

from audit.chain import HASHED_FIELDS


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only, for everyone (superusers included); no actions, no bulk delete."""

    actions = None
    show_full_result_count = False  # no COUNT(*) over a million entries per page
    list_per_page = 100
    audit_object_type = ""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)

    def has_module_permission(self, request):
        return self.admin_site.has_permission(request)


ENTRY_PAGE_ONLY = frozenset(
    {"actor_user_id", "actor_agency_id", "categories", "consent_ids", "detail"}
    | {"request_id", "client_ip", "user_agent"}
)


class AuditEntryAdmin(ReadOnlyAdmin):
    audit_object_type = "audit_entry"
    # The chain's fields, in its order, less the ids and particulars an entry's own
    # page shows.
    list_display = [name for name in HASHED_FIELDS if name not in ENTRY_PAGE_ONLY]
    list_filter = ["action", "outcome", "actor_role"]
    # Exact matches only: each is an indexed identifier, not free text.
    search_fields = [
        "=survivor_ref",
        "=object_id",
        "=actor_username",
        "=actor_agency",
        "=request_id",
    ]
    ordering = ["-seq"]


class CheckpointAdmin(ReadOnlyAdmin):
    audit_object_type = "audit_checkpoint"
    list_display = ["seq", "hash", "signed_at", "public_key"]
    ordering = ["-seq"]


class DisclosureAdmin(ReadOnlyAdmin):
    audit_object_type = "disclosure"
    list_display = [
        "entry_seq",
        "at",
        "survivor_ref",
        "actor_agency",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "categories",
        "consent_ids",
    ]
    list_filter = ["actor_agency"]
    search_fields = ["=survivor_ref"]
    ordering = ["-id"]


class FieldChangeAdmin(ReadOnlyAdmin, LogEntryAdmin):
    """django-auditlog's field diffs (PII fields are never tracked)."""

    audit_object_type = "field_change"
