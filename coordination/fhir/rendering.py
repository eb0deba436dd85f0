"""How the face answers: ``application/fhir+json`` whatever the client's ``Accept``
says (``_format`` may ask for JSON, the only format served), and errors as
``OperationOutcome``."""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from coordination.fhir.outcomes import MEDIA_TYPE, operation_outcome


class FhirJSONRenderer(JSONRenderer):
    media_type = MEDIA_TYPE
    format = "json"
    charset = None  # application/fhir+json is UTF-8 by definition


class FhirOnly(BaseContentNegotiation):
    """One representation: a client asking for another still gets FHIR JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FhirView(APIView):
    """The face's base view. Refusals go through the project's error map (which audits
    them, as for the REST API) and are then dressed as ``OperationOutcome``."""

    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = FhirOnly
    schema = None  # not part of the REST API's OpenAPI document

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        body = response.data if isinstance(response.data, dict) else {}
        response.data = operation_outcome(
            body.get("code", "error"), body.get("detail", ""), body.get("fields")
        )
        return response
