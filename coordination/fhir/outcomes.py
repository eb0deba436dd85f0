"""Errors as FHIR ``OperationOutcome``. The status and the ``code`` come from the
project's one error map (``srn.errors``); this only re-dresses its ``{"code",
"detail", "fields"}`` body, so a hidden referral and a missing one read alike here too."""

from __future__ import annotations

import json

from django.http import HttpResponse

MEDIA_TYPE = "application/fhir+json"

# Our stable error code -> FHIR issue type (http://hl7.org/fhir/issue-type).
ISSUE_TYPE = {
    "not_found": "not-found",
    "permission_denied": "forbidden",
    "not_authenticated": "login",
    "authentication_failed": "login",
    "invalid": "invalid",
    "throttled": "throttled",
    "method_not_allowed": "not-supported",
    "not_acceptable": "not-supported",
    "server_error": "exception",
}


def operation_outcome(code: str, detail: str, fields: dict | None = None) -> dict:
    issue_type = ISSUE_TYPE.get(code, "processing")
    issues = [
        {
            "severity": "error",
            "code": issue_type,
            "details": {"coding": [{"system": "urn:srn:fhir:error", "code": code}], "text": detail},
        }
    ]
    for name, messages in (fields or {}).items():
        text = " ".join(messages) if isinstance(messages, list) else str(messages)
        issues.append(
            {"severity": "error", "code": issue_type, "expression": [name], "diagnostics": text}
        )
    return {"resourceType": "OperationOutcome", "issue": issues}


def outcome_http_response(status: int, code: str, detail: str) -> HttpResponse:
    """For errors Django answers before any view (a path no route matches, a crash)."""
    body = json.dumps(operation_outcome(code, detail))
    return HttpResponse(body, status=status, content_type=MEDIA_TYPE)
