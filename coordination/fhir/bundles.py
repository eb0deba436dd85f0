"""Search results as a FHIR ``Bundle`` of type ``searchset``, paged with the project's
one cursor class (``_count`` sets the page size; ``next``/``previous`` links carry the
cursor and the search parameters)."""

from __future__ import annotations

from functools import cache

from django.urls import reverse
from rest_framework.response import Response
from rest_framework.settings import api_settings


@cache
def pagination_class():
    base = api_settings.DEFAULT_PAGINATION_CLASS
    return type("FhirPagination", (base,), {"page_size_query_param": "_count"})


def base_url(request) -> str:
    """The absolute service base (``…/fhir/R4/``)."""
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


def searchset(request, paginator, resources: list[dict]) -> Response:
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    for relation, url in (
        ("next", paginator.get_next_link()),
        ("previous", paginator.get_previous_link()),
    ):
        if url:
            links.append({"relation": relation, "url": url})
    base = base_url(request)
    return Response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}{resource['resourceType']}/{resource['id']}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in resources
            ],
        }
    )
