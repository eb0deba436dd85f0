"""The read-only FHIR R4 face (``/fhir/R4/``): the referral workflow as the Gravity
Project's SDOH closed-loop referral reads it (ServiceRequest, Task, Patient, Consent,
AuditEvent). It reads through the same selectors as the REST API and maps what the
presenters and the request's access decision show; it decides nothing itself."""
