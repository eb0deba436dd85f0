"""The audit trail's filters, shared by the API and the compliance pages: the API
filters with them (DRF's filter backend), the pages render and validate their forms."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.core.validators import RegexValidator

from audit.models import Action, Alert, AlertRule, AuditEntry, Disclosure

SURVIVOR_REF = RegexValidator(r"^S-[A-Z0-9]{8}$", "A survivor ref looks like S-7F3K92QD.")


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 instant, compared in UTC: PostgreSQL refuses offsets beyond ±15:59,
    which ISO 8601 text can carry."""

    def to_python(self, value):
        moment = super().to_python(value)
        return moment.astimezone(UTC) if moment is not None else None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def _datetime_local(**kwargs) -> django_filters.IsoDateTimeFilter:
    """An ISO 8601 bound on ``at``; browsers send ``YYYY-MM-DDTHH:MM``, which it accepts."""
    return UtcIsoDateTimeFilter(
        field_name="at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        **kwargs,
    )


def _at_range() -> tuple[django_filters.IsoDateTimeFilter, django_filters.IsoDateTimeFilter]:
    """``since, until``: entries at or after ``since`` and before ``until``."""
    return _datetime_local(lookup_expr="gte"), _datetime_local(lookup_expr="lt")


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (django-filter's ``NumberFilter`` would accept ``2.5``)."""

    field_class = forms.IntegerField


class AuditEntryFilter(django_filters.FilterSet):
    actor = IntegerFilter(field_name="actor_user_id", label="Actor (user id)")
    agency = django_filters.CharFilter(
        field_name="actor_agency", max_length=64, label="Agency (slug)"
    )
    action = django_filters.ChoiceFilter(choices=Action.choices, empty_label="any")
    object_type = django_filters.CharFilter(max_length=64)
    object_id = django_filters.CharFilter(max_length=64)
    survivor_ref = django_filters.CharFilter(max_length=16, label="Survivor ref")
    outcome = django_filters.ChoiceFilter(
        choices=[("allowed", "allowed"), ("denied", "denied")], empty_label="any"
    )
    since, until = _at_range()

    class Meta:
        model = AuditEntry
        fields = []


class DisclosureFilter(django_filters.FilterSet):
    """One survivor's ledger (``survivor_ref`` is required), optionally within a time
    range."""

    survivor_ref = django_filters.CharFilter(
        required=True, max_length=10, validators=[SURVIVOR_REF], label="Survivor ref"
    )
    since, until = _at_range()

    class Meta:
        model = Disclosure
        fields = []


class AlertFilter(django_filters.FilterSet):
    """Access alerts by rule, member, agency, acknowledgement and time raised;
    ``after`` (an alert id) gives only newer ones (what the dashboard polls for)."""

    rule = django_filters.ChoiceFilter(choices=AlertRule.choices, empty_label="any")
    member = IntegerFilter(field_name="actor_user_id", label="Member (user id)")
    agency = django_filters.CharFilter(
        field_name="actor_agency", max_length=64, label="Agency (slug)"
    )
    acknowledged = django_filters.ChoiceFilter(
        choices=[("true", "acknowledged"), ("false", "open")],
        method="filter_acknowledged",
        empty_label="any",
    )
    after = IntegerFilter(field_name="id", lookup_expr="gt", label="After alert id")
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = []

    def filter_acknowledged(self, queryset, name, value):
        return queryset.filter(acknowledged_at__isnull=value == "false")


def applied_filters(filterset: django_filters.FilterSet) -> dict[str, str]:
    """What a valid FilterSet narrowed by, as query parameters in declaration order:
    what a read's audit entry records and what the pages' export links carry. An
    unbound FilterSet (a page opened without a query) applied none."""
    if not filterset.is_valid():
        return {}
    applied = {}
    for name in filterset.filters:
        value = filterset.form.cleaned_data.get(name)
        if value in (None, ""):
            continue
        applied[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return applied
