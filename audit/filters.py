"""The audit trail's filters, shared by the API and the compliance pages."""

from __future__ import annotations

import django_filters

from audit.models import Action, AuditEntry


class AuditEntryFilter(django_filters.FilterSet):
    actor = django_filters.NumberFilter(field_name="actor_user_id")
    agency = django_filters.CharFilter(field_name="actor_agency")
    action = django_filters.ChoiceFilter(choices=Action.choices)
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    survivor_ref = django_filters.CharFilter()
    outcome = django_filters.ChoiceFilter(choices=[("allowed", "allowed"), ("denied", "denied")])
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = []
