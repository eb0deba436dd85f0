from django.contrib import admin

from agencies.models import Agency, Membership


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "kind", "region", "accepting_referrals", "is_active"]
    list_filter = ["kind", "accepting_referrals", "is_active"]
    search_fields = ["slug", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "agency", "role", "is_active"]
    list_filter = ["role", "is_active", "agency"]
    raw_id_fields = ["user"]
