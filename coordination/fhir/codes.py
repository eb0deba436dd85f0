"""The code systems and fixed codes of the FHIR face, and the map from our recipient
statuses to FHIR ``Task.status``. Our own codes live under ``urn:srn:fhir:``."""

from __future__ import annotations

from coordination import states

NEED_SYSTEM = "urn:srn:fhir:need"
CATEGORY_SYSTEM = "urn:srn:fhir:data-category"
STATUS_SYSTEM = "urn:srn:fhir:recipient-status"
SURVIVOR_REF_SYSTEM = "urn:srn:fhir:survivor-ref"
AGENCY_SYSTEM = "urn:srn:fhir:agency-id"
AUDIT_ACTION_SYSTEM = "urn:srn:fhir:audit-action"
AUDIT_OBJECT_SYSTEM = "urn:srn:fhir:audit-object"
ROLE_SYSTEM = "urn:srn:fhir:role"
CONSENT_PURPOSE_SYSTEM = "urn:srn:fhir:consent-purpose"

# A referral: SNOMED CT "Patient referral (procedure)"; a Task fulfils it.
REFERRAL_CODE = {
    "system": "http://snomed.info/sct",
    "code": "3457005",
    "display": "Patient referral",
}
TASK_CODE = {"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}
CONSENT_SCOPE = {
    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
    "code": "patient-privacy",
}
CONSENT_CATEGORY = {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
INFORMATION_RECIPIENT = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
    "code": "IRCP",
}
AUDIT_EVENT_TYPE = {
    "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "code": "rest",
    "display": "RESTful Operation",
}

# urgency -> ServiceRequest.priority
PRIORITY = {"emergency": "stat", "high": "urgent", "routine": "routine"}

# Our recipient status -> FHIR Task.status (DESIGN.md: the state machine is aligned
# with it). ``consent_revoked`` reads ``cancelled`` with a ``statusReason``.
TASK_STATUS = {
    states.AWAITING_CONSENT: "draft",
    states.REQUESTED: "requested",
    states.RECEIVED: "received",
    states.ACCEPTED: "accepted",
    states.REJECTED: "rejected",
    states.IN_PROGRESS: "in-progress",
    states.ON_HOLD: "on-hold",
    states.COMPLETED: "completed",
    states.CANCELLED: "cancelled",
    states.CONSENT_REVOKED: "cancelled",
}
CONSENT_REVOKED_REASON = {
    "coding": [{"system": STATUS_SYSTEM, "code": states.CONSENT_REVOKED}],
    "text": "The consent that released this referral was revoked or expired.",
}

# Our audit action -> AuditEvent.action (C/R/U/D/E).
AUDIT_ACTION = {
    "view": "R",
    "list": "R",
    "export": "R",
    "verify": "E",
    "create": "C",
    "consent_record": "C",
    "update": "U",
    "transition": "U",
    "consent_revoke": "U",
    "emergency_access": "C",
    "emergency_review": "U",
}
AUDIT_OUTCOME = {"allowed": "0", "denied": "4"}
