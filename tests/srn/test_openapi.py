"""Every endpoint's request and response is typed in the OpenAPI schema: a client
generated from it learns the shape of every body, none is a bare object."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

BODY_METHODS = {"post", "put", "patch"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema, node):
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _bare(schema, node) -> bool:
    node = _resolve(schema, node)
    if node.get("type") == "array":
        return _bare(schema, node.get("items", {}))
    if any(key in node for key in ("oneOf", "anyOf", "allOf")):
        return False
    return node.get("type", "object") == "object" and not node.get("properties")


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_no_response_body_is_a_bare_object(schema):
    bare = []
    for path, method, operation in _operations(schema):
        for status, response in operation.get("responses", {}).items():
            for media, content in response.get("content", {}).items():
                if media.endswith("json") and _bare(schema, content.get("schema", {})):
                    bare.append(f"{method.upper()} {path} {status}")
    assert bare == []


def test_every_body_taking_operation_documents_its_body_or_takes_none(schema):
    # Operations that take no body (logout, a ticket, deactivate) say so by having none;
    # an operation that documents a body documents its fields.
    bare = []
    for path, method, operation in _operations(schema):
        body = operation.get("requestBody")
        if method in BODY_METHODS and body is not None:
            for media, content in body.get("content", {}).items():
                if media.endswith("json") and _bare(schema, content.get("schema", {})):
                    bare.append(f"{method.upper()} {path}")
    assert bare == []


def test_every_operation_has_a_success_response(schema):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(schema)
        if not any(str(code).startswith("2") for code in operation.get("responses", {}))
    ]
    assert missing == []
