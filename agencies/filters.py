"""The agency directory's filters, shared by the API and the new-referral page: what an
agency offers (``need``), where (``region``) and in which ``language``."""

from __future__ import annotations

import json

import django_filters
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from agencies.models import Agency, AgencyKind, Need


def _listing(queryset, field: str, value: str):
    """Agencies whose JSON list ``field`` holds ``value`` exactly. The list's text holds
    each item JSON-quoted (portable to SQLite, whose JSON has no containment lookup);
    non-ASCII text may be stored escaped or not, so both spellings match."""
    text = f"{field}_text"
    spellings = {json.dumps(value), json.dumps(value, ensure_ascii=False)}
    match = Q()
    for spelling in spellings:
        match |= Q(**{f"{text}__contains": spelling})
    return queryset.annotate(**{text: Cast(field, output_field=TextField())}).filter(match)


class AgencyFilter(django_filters.FilterSet):
    need = django_filters.ChoiceFilter(choices=Need.choices, method="filter_need")
    region = django_filters.CharFilter(max_length=100, method="filter_region")
    language = django_filters.CharFilter(max_length=35, method="filter_language")
    kind = django_filters.ChoiceFilter(choices=AgencyKind.choices)
    accepting_referrals = django_filters.BooleanFilter()

    class Meta:
        model = Agency
        fields = []

    def filter_need(self, queryset, name, value):
        return _listing(queryset, "services", value)

    def filter_region(self, queryset, name, value):
        return _listing(queryset, "regions", value)

    def filter_language(self, queryset, name, value):
        return _listing(queryset, "languages", value)
