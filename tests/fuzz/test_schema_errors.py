"""The OpenAPI schema documents each operation's errors, each with the one error shape
``srn.errors`` renders (``srn.openapi``); the fuzz checks responses against it."""

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def test_every_error_response_has_the_error_shape(operations):
    for operation in operations.values():
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        assert "401" in errors
        for response in errors.values():
            body = response["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize(
    ("operation", "statuses"),
    [
        (("POST", "/api/v1/auth/token/"), {"400", "401", "413", "415", "429"}),
        (("GET", "/api/v1/me/"), {"401", "403"}),
        (("GET", "/api/v1/referrals/{referral_id}/"), {"401", "403", "404"}),
        (("PATCH", "/api/v1/survivors/{survivor_id}/"), {"400", "404", "412", "413", "415"}),
        (("POST", "/api/v1/referrals/"), {"400", "409", "422"}),
        (("POST", "/api/v1/referrals/{referral_id}/transitions/"), {"404", "409", "412"}),
        (("POST", "/api/v1/members/{member_id}/deactivate/"), {"403", "404", "409"}),
    ],
)
def test_operations_document_the_errors_they_answer(operations, operation, statuses):
    assert statuses <= set(operations[operation]["responses"])


def test_the_idempotency_and_precondition_headers_are_documented(operations):
    def headers(key):
        return {p["name"] for p in operations[key].get("parameters", []) if p["in"] == "header"}

    for path in ("/api/v1/survivors/", "/api/v1/consents/", "/api/v1/referrals/"):
        assert "Idempotency-Key" in headers(("POST", path))
    assert "If-Match" in headers(("PATCH", "/api/v1/survivors/{survivor_id}/"))
    assert "If-Match" in headers(("POST", "/api/v1/referrals/{referral_id}/transitions/"))


def test_the_served_schema_carries_the_error_component():
    served = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    error = served.json()["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "detail"]
