"""The one pagination style of the project's lists: an opaque cursor over the ordering
the selector gave its queryset (which ends in a unique key, so pages never skip or
repeat a row as rows are added). The API uses it by default (``REST_FRAMEWORK``); the
pages page with the same cursor through the same class."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class SelectorOrderCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_ordering(self, request, queryset, view):
        ordering = tuple(queryset.query.order_by) or tuple(queryset.model._meta.ordering)
        if not ordering:
            raise ImproperlyConfigured(f"{queryset.model.__name__} lists need an ordering.")
        return ordering

    def decode_cursor(self, request):
        # A cursor the server did not issue (malformed, or an offset beyond any
        # integer) is bad input: 400, never a 404 that reads as a refusal, or a 500.
        try:
            return super().decode_cursor(request)
        except (NotFound, OverflowError, ValueError):
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from None
