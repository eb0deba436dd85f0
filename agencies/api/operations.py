"""What every API operation does the same way: read its body through a serializer, and
declare its answers for the schema (the success, and the refusals only the view knows;
``srn.openapi`` derives the rest)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework.response import Response


def valid_body(serializer_class, request, **options) -> dict:
    """The request body as ``serializer_class`` validates it, or a 400 with its fields."""
    body = serializer_class(data=request.data, **options)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


def created(view, request, body_serializer, service) -> Response:
    """A creating POST: the body (``body_serializer``) goes to ``service`` as keywords,
    with the caller as ``actor``; 201 with the new object as the view's serializer shows it."""
    instance = service(actor=request.member, **valid_body(body_serializer, request))
    return Response(view.get_serializer(instance).data, status=http.HTTP_201_CREATED)


def shown_page(view, queryset, shown, present=None):
    """One page of a scoped queryset, shown (``shown(member, page)``, a selector that
    audits it) and presented (``present(item)``, else the view's serializer), in one
    transaction: the list entry commits with the read."""
    with transaction.atomic():
        page = shown(view.request.member, view.paginate_queryset(queryset))
        if present is None:
            return view.get_paginated_response(view.get_serializer(page, many=True).data)
        return view.get_paginated_response([present(item) for item in page])


def operation(
    request, success, *, status: int = 200, refusals: dict[int, str] | None = None, **schema
):
    """``extend_schema`` of an operation taking ``request`` (a serializer, or None) and
    answering ``status`` with ``success``, or one of ``refusals`` (status -> why)."""
    refused = {code: OpenApiResponse(description=why) for code, why in (refusals or {}).items()}
    return extend_schema(request=request, responses={status: success, **refused}, **schema)
