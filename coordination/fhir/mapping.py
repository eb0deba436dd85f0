"""FHIR R4 resources from what the presenters show (``coordination.presenters``) and
the request's access ``Decision``. Plain dicts: nothing here reads the database or
decides what a member may see, it only renames what it is given."""

from __future__ import annotations

import json
from datetime import datetime

from coordination import states
from coordination.fhir import codes


def _instant(value) -> str:
    return value if isinstance(value, str) else value.isoformat()


def agency_reference(agency_id: int) -> dict:
    """An agency as a logical ``Organization`` reference (the face serves no
    Organization resource: the directory is ``/api/v1/agencies/``)."""
    return {
        "type": "Organization",
        "identifier": {"system": codes.AGENCY_SYSTEM, "value": str(agency_id)},
    }


def patient_reference(survivor: dict) -> dict:
    return {
        "reference": f"Patient/{survivor['id']}",
        "identifier": {"system": codes.SURVIVOR_REF_SYSTEM, "value": survivor["ref"]},
    }


def patient(survivor: dict, last_updated) -> dict:
    """A survivor as ``presenters.survivor_shown`` released them: identifier (the
    pseudonymous ``ref``), and name, birthDate, telecom and address as far as they are
    present there. Nothing else."""
    resource = {
        "resourceType": "Patient",
        "id": survivor["id"],
        "meta": {"lastUpdated": _instant(last_updated)},
        "identifier": [{"system": codes.SURVIVOR_REF_SYSTEM, "value": survivor["ref"]}],
    }
    name = {}
    if survivor.get("family_name"):
        name["family"] = survivor["family_name"]
    if survivor.get("given_name"):
        name["given"] = [survivor["given_name"]]
    if name:
        resource["name"] = [name]
    if survivor.get("date_of_birth"):
        resource["birthDate"] = survivor["date_of_birth"]
    telecom = [
        {"system": system, "value": survivor[field]}
        for field, system in (("phone", "phone"), ("email", "email"))
        if survivor.get(field)
    ]
    if telecom:
        resource["telecom"] = telecom
    if survivor.get("address"):
        resource["address"] = [{"text": survivor["address"]}]
    return resource


def _need(need: str) -> dict:
    return {"coding": [{"system": codes.NEED_SYSTEM, "code": need}], "text": need}


def _request_status(recipients: list[dict]) -> str:
    """The referral as a whole, from the recipient statuses the caller is shown."""
    shown = [r["status"] for r in recipients]
    if any(status not in states.FINAL for status in shown):
        return "active"
    if states.COMPLETED in shown:
        return "completed"
    return "revoked"


def service_request(referral: dict) -> dict:
    """A referral as ``presenters.referral_shown`` shows it: the narrative only when
    it is there (released), performers only the recipients shown."""
    resource = {
        "resourceType": "ServiceRequest",
        "id": referral["id"],
        "meta": {"lastUpdated": referral["created_at"]},
        "status": _request_status(referral["recipients"]),
        "intent": "order",
        "category": [_need(need) for need in referral["needs"]],
        "code": {"coding": [codes.REFERRAL_CODE]},
        "priority": codes.PRIORITY[referral["urgency"]],
        "subject": patient_reference(referral["survivor"]),
        "authoredOn": referral["created_at"],
        "requester": agency_reference(referral["referring_agency"]),
    }
    performers = [agency_reference(r["agency"]) for r in referral["recipients"]]
    if performers:
        resource["performer"] = performers
    if referral.get("narrative"):
        resource["note"] = [{"text": referral["narrative"]}]
    return resource


def task_id(referral_id: str, agency_id: int) -> str:
    return f"{referral_id}-{agency_id}"


def task(referral: dict, recipient: dict) -> dict:
    """One recipient status of a shown referral (``referral["recipients"]``), as FHIR
    ``Task``; ``businessStatus`` keeps our own status code."""
    status = recipient["status"]
    resource = {
        "resourceType": "Task",
        "id": task_id(referral["id"], recipient["agency"]),
        "meta": {"lastUpdated": referral["created_at"]},
        "status": codes.TASK_STATUS[status],
        "businessStatus": {"coding": [{"system": codes.STATUS_SYSTEM, "code": status}]},
        "intent": "order",
        "code": {"coding": [codes.TASK_CODE]},
        "focus": {"reference": f"ServiceRequest/{referral['id']}"},
        "for": patient_reference(referral["survivor"]),
        "authoredOn": referral["created_at"],
        "requester": agency_reference(referral["referring_agency"]),
        "owner": agency_reference(recipient["agency"]),
    }
    if status == states.CONSENT_REVOKED:
        resource["statusReason"] = codes.CONSENT_REVOKED_REASON
    return resource


def tasks(referral: dict) -> list[dict]:
    return [task(referral, recipient) for recipient in referral["recipients"]]


def _consent_status(consent: dict, now: datetime) -> str:
    if consent["revoked_at"] or datetime.fromisoformat(consent["expires_at"]) <= now:
        return "inactive"
    if datetime.fromisoformat(consent["valid_from"]) > now:
        return "proposed"
    return "active"


def consent(consent: dict, owner_agency_id: int, now) -> dict:
    """A consent record as ``presenters.consent_shown`` shows it to the agency that
    recorded it: who it releases to, which categories, for how long."""
    return {
        "resourceType": "Consent",
        "id": consent["id"],
        "meta": {"lastUpdated": consent["revoked_at"] or consent["recorded_at"]},
        "status": _consent_status(consent, now),
        "scope": {"coding": [codes.CONSENT_SCOPE]},
        "category": [{"coding": [codes.CONSENT_CATEGORY]}],
        "patient": {
            "reference": f"Patient/{consent['survivor']}",
            "identifier": {"system": codes.SURVIVOR_REF_SYSTEM, "value": consent["survivor_ref"]},
        },
        "dateTime": consent["recorded_at"],
        "organization": [agency_reference(owner_agency_id)],
        "policyRule": {"text": f"notice {consent['notice_version']}"},
        "provision": {
            "type": "permit",
            "period": {"start": consent["valid_from"], "end": consent["expires_at"]},
            "actor": [
                {
                    "role": {"coding": [codes.INFORMATION_RECIPIENT]},
                    "reference": agency_reference(a),
                }
                for a in consent["recipients"]
            ],
            "purpose": [{"system": codes.CONSENT_PURPOSE_SYSTEM, "code": consent["purpose"]}],
            "code": [
                {"coding": [{"system": codes.CATEGORY_SYSTEM, "code": category}]}
                for category in consent["categories"]
            ],
        },
    }


def audit_event(entry) -> dict:
    """One audit entry (ids, codes and the pseudonymous ``ref``; it holds no PII)."""
    agent = {
        "requestor": True,
        "who": {"identifier": {"system": "urn:srn:fhir:user-id", "value": str(entry.actor_user_id)}}
        if entry.actor_user_id
        else {"display": "anonymous"},
    }
    if entry.actor_username:
        agent["name"] = entry.actor_username
    if entry.actor_role:
        agent["role"] = [{"coding": [{"system": codes.ROLE_SYSTEM, "code": entry.actor_role}]}]
    if entry.client_ip:
        agent["network"] = {"address": entry.client_ip, "type": "2"}
    subject = {
        "detail": [
            {"type": "detail", "valueString": json.dumps(entry.detail, sort_keys=True)},
            *({"type": "category", "valueString": c} for c in entry.categories),
            *({"type": "consent", "valueString": c} for c in entry.consent_ids),
        ]
    }
    if entry.object_type:
        subject["type"] = {"system": codes.AUDIT_OBJECT_SYSTEM, "code": entry.object_type}
    if entry.object_id:
        subject["what"] = {"identifier": {"value": entry.object_id}}
    entities = [subject]
    if entry.survivor_ref:
        entities.append(
            {
                "what": {
                    "type": "Patient",
                    "identifier": {
                        "system": codes.SURVIVOR_REF_SYSTEM,
                        "value": entry.survivor_ref,
                    },
                }
            }
        )
    resource = {
        "resourceType": "AuditEvent",
        "id": str(entry.seq),
        "meta": {"lastUpdated": _instant(entry.at)},
        "type": codes.AUDIT_EVENT_TYPE,
        "subtype": [{"system": codes.AUDIT_ACTION_SYSTEM, "code": entry.action}],
        "action": codes.AUDIT_ACTION.get(entry.action, "E"),
        "recorded": _instant(entry.at),
        "outcome": codes.AUDIT_OUTCOME.get(entry.outcome, "4"),
        "agent": [agent],
        "source": {
            "site": "safe-referral-network",
            "observer": {"display": "safe-referral-network"},
        },
        "entity": entities,
    }
    if entry.actor_agency_id:
        agent["who"]["display"] = entry.actor_agency
    return resource
