"""The ``CapabilityStatement``: exactly what the face serves."""

from __future__ import annotations

READ = {"code": "read"}
SEARCH = {"code": "search-type"}
LAST_UPDATED = {
    "name": "_lastUpdated",
    "type": "date",
    "documentation": "ge, le, gt or lt with a date or an instant with its UTC offset",
}

# resource type -> (interactions, what it is)
RESOURCES = {
    "ServiceRequest": ((READ, SEARCH), "A referral, as the access rule releases it."),
    "Task": ((READ, SEARCH), "One recipient status of a referral ('<referral>-<agency>')."),
    "Patient": ((READ, SEARCH), "A survivor: identifier (ref) and the released fields only."),
    "Consent": ((READ, SEARCH), "The caller's agency's consent records (liaisons)."),
    "AuditEvent": ((SEARCH,), "The audit trail (compliance officers)."),
}


def statement() -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-01",
        "publisher": "Safe Referral Network",
        "kind": "instance",
        "software": {"name": "Safe Referral Network"},
        "implementation": {"description": "Read-only FHIR R4 face of the Safe Referral Network"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer token (POST /api/v1/auth/token/) or a session; "
                    "every read is audited; what is shown follows the survivor's consent."
                },
                "resource": [
                    {
                        "type": name,
                        "documentation": about,
                        "interaction": list(interactions),
                        "searchParam": [LAST_UPDATED],
                    }
                    for name, (interactions, about) in RESOURCES.items()
                ],
            }
        ],
    }
