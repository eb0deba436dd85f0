"""Every FHIR response is read through here: its media type is FHIR JSON and its body
validates against the R4-compatible models of ``fhir.resources`` (``R4B``)."""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class

MEDIA_TYPE = "application/fhir+json"


def valid_fhir(response) -> dict:
    """The response's body, after checking it is a valid FHIR R4 resource."""
    assert response["Content-Type"].startswith(MEDIA_TYPE), response["Content-Type"]
    body = response.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def fhir_get(client, path: str, status: int = 200, **extra) -> dict:
    response = client.get(path, **extra)
    assert response.status_code == status, response.content[:400]
    return valid_fhir(response)


def entries(bundle: dict) -> list[dict]:
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "searchset")
    return [entry["resource"] for entry in bundle.get("entry", [])]
