"""The error half of the OpenAPI schema: every error the API answers is one JSON shape,
``{"code", "detail", "fields"?}`` (``srn.errors``), and every operation documents the
error statuses it can answer.

Most of those follow from the operation itself, so they are derived here once instead
of being repeated on every view: a caller can always be unauthenticated (401); a view
that needs a member can refuse one (403); a path with ids names something that may be
missing or hidden (404); a body can be malformed (400), too large (413) or of another
media type (415); query and header parameters can be invalid (400); a throttled view
answers 429. What only a view knows (409 for an illegal transition, 412 for a stale
``If-Match``) it declares itself with ``extend_schema``; an ``Idempotency-Key`` it
documents brings its 409 (in progress), 410 (a replay about a survivor erased since) and
422 (reused with another body).
"""

from __future__ import annotations

from rest_framework.permissions import AllowAny

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: a stable `code` and a human `detail`; validation "
    "errors add `fields` (field name to messages).",
    "properties": {
        "code": {"type": "string", "description": "stable, for programs"},
        "detail": {"type": "string", "description": "for people; never survivor data"},
        "fields": {"type": "object", "additionalProperties": {}},
    },
    "required": ["code", "detail"],
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input (`code` `invalid` with `fields`, or a malformed request).",
    "401": "Not authenticated, or the credentials are invalid or expired.",
    "403": "Authenticated, but this member's role or agency may not do this.",
    "404": "Not found, or not visible to the caller (the two are not told apart).",
    "409": "Conflicts with the current state.",
    "410": "The survivor's data was erased (`code` `erased`): gone for good.",
    "412": "`If-Match` does not match the current ETag: read it again.",
    "413": "The request body is larger than this service accepts.",
    "415": "The request body is not JSON.",
    "422": "This `Idempotency-Key` was used with a different request body.",
    "429": "Too many requests: wait and retry.",
}


def _needs_member(view_class) -> bool:
    return not all(issubclass(klass, AllowAny) for klass in view_class.permission_classes)


def _header_names(operation: dict) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}


def _derived_statuses(operation: dict, view_class) -> set[str]:
    locations = {parameter["in"] for parameter in operation.get("parameters", [])}
    statuses = {"401"}
    if _needs_member(view_class):
        statuses.add("403")
    if "path" in locations:
        statuses.add("404")
    if "query" in locations or "header" in locations:
        statuses.add("400")
    if "requestBody" in operation:
        statuses |= {"400", "413", "415"}
    if view_class.throttle_classes:
        statuses.add("429")
    headers = _header_names(operation)
    if "if-match" in headers:
        statuses.add("412")
    if "idempotency-key" in headers:
        # A replay of a creation about a survivor erased since is gone (410).
        statuses |= {"409", "410", "422"}
    return statuses


def _error_response(status_code: str, declared: dict | None) -> dict:
    response = dict(declared or {})
    if not response.get("description"):
        response["description"] = ERROR_DESCRIPTIONS.get(status_code, "Error.")
    response["content"] = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
    }
    return response


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the ``Error`` component, and on every
    operation the error responses it can answer, each with that body."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    views = {
        (path, method.lower()): callback.cls for path, _, method, callback in generator.endpoints
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            view_class = views.get((path, method))
            if view_class is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {code for code in responses if code[0] in "45"}
            for status_code in sorted(declared | _derived_statuses(operation, view_class)):
                responses[status_code] = _error_response(status_code, responses.get(status_code))
    return result
