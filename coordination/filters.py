"""The referral workflow's list filters, shared by the API and the pages. Each narrows
a queryset the selector already scoped to what the member may see; whatever depends on
the access rule (direction, status as the agency sees it) is asked of
``coordination.access``."""

from __future__ import annotations

import django_filters
from django.db.models import TextField
from django.db.models.functions import Cast

from agencies.models import Need
from consent.models import Consent
from coordination import access, states
from coordination.models import EmergencyAccess, Referral, ReviewStatus, Urgency


class ReferralFilter(django_filters.FilterSet):
    """``direction``, ``status`` (as the caller's agency sees it), ``need``, ``urgency``.
    Needs ``request.member``."""

    direction = django_filters.ChoiceFilter(
        choices=[(access.OUTGOING, "outgoing"), (access.INCOMING, "incoming")],
        method="filter_direction",
    )
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in states.STATES], method="filter_status"
    )
    need = django_filters.ChoiceFilter(choices=Need.choices, method="filter_need")
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)

    class Meta:
        model = Referral
        fields = []

    @property
    def agency_id(self) -> int:
        return self.request.member.agency_id

    def filter_direction(self, queryset, name, value):
        return access.in_direction(queryset, self.agency_id, value)

    def filter_status(self, queryset, name, value):
        direction = self.form.cleaned_data.get("direction") or ""
        return access.with_status(queryset, self.agency_id, value, direction=direction)

    def filter_need(self, queryset, name, value):
        # ``needs`` is a JSON list; its text holds each need quoted (portable to SQLite).
        return queryset.annotate(needs_text=Cast("needs", output_field=TextField())).filter(
            needs_text__contains=f'"{value}"'
        )


class ConsentFilter(django_filters.FilterSet):
    survivor = django_filters.UUIDFilter(field_name="survivor_id")

    class Meta:
        model = Consent
        fields = []


class EmergencyAccessFilter(django_filters.FilterSet):
    """Compliance's review list: ``review_status`` (pending, justified, unjustified)."""

    review_status = django_filters.ChoiceFilter(choices=ReviewStatus.choices)

    class Meta:
        model = EmergencyAccess
        fields = []
