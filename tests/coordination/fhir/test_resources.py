"""The FHIR face's shapes and rules: the status map, the priority map, the
CapabilityStatement, ``_lastUpdated`` search and paging, errors as OperationOutcome,
AuditEvent for compliance officers only. Every body is validated as FHIR R4."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from audit.models import AuditEntry
from coordination import states
from coordination.fhir import mapping
from tests.conftest import client_for
from tests.coordination.fhir.validation import entries, fhir_get
from tests.coordination.test_api import create_case, sync_statuses
from tests.factories import ConsentFactory, MemberFactory

pytestmark = pytest.mark.django_db

FHIR_TASK_STATUS = {
    "awaiting_consent": "draft",
    "requested": "requested",
    "received": "received",
    "accepted": "accepted",
    "rejected": "rejected",
    "in_progress": "in-progress",
    "on_hold": "on-hold",
    "completed": "completed",
    "cancelled": "cancelled",
    "consent_revoked": "cancelled",
}


def _shown(status="requested", urgency="high") -> dict:
    """A referral as ``presenters.referral_shown`` gives it (no PII)."""
    return {
        "id": "8d7f1a52-5f4e-4a8e-9d55-0b8a7f3c2e11",
        "survivor": {"id": "0f0e7d7c-1b2a-4c3d-8e9f-a0b1c2d3e4f5", "ref": "S-7F3K92QD"},
        "referring_agency": 1,
        "recipients": [{"agency": 2, "status": status}],
        "needs": ["shelter", "legal"],
        "urgency": urgency,
        "created_at": "2026-05-01T09:00:00+00:00",
    }


def _validate(resource: dict) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_every_status_has_its_fhir_task_status():
    assert set(FHIR_TASK_STATUS) == set(states.STATES)


@pytest.mark.parametrize(("ours", "theirs"), FHIR_TASK_STATUS.items())
def test_task_status_follows_the_map(ours, theirs):
    shown = _shown(ours)
    task = mapping.task(shown, shown["recipients"][0])
    _validate(task)
    assert task["status"] == theirs
    assert task["businessStatus"]["coding"][0]["code"] == ours
    assert task["focus"] == {"reference": f"ServiceRequest/{shown['id']}"}
    assert task["owner"]["identifier"]["value"] == "2"
    assert ("statusReason" in task) == (ours == states.CONSENT_REVOKED)


@pytest.mark.parametrize(
    ("urgency", "priority"), [("emergency", "stat"), ("high", "urgent"), ("routine", "routine")]
)
def test_service_request_priority_follows_urgency(urgency, priority):
    request = mapping.service_request(_shown(urgency=urgency))
    _validate(request)
    assert (request["priority"], request["intent"]) == (priority, "order")
    assert [c["coding"][0]["code"] for c in request["category"]] == ["shelter", "legal"]
    assert request["subject"]["reference"].startswith("Patient/")
    assert request["requester"]["type"] == "Organization"


def test_metadata_lists_exactly_what_is_served_and_reads_nothing(db):
    before = AuditEntry.objects.count()
    statement = fhir_get(client_for(), "/fhir/R4/metadata")
    assert statement["fhirVersion"] == "4.0.1"
    served = {
        r["type"]: {i["code"] for i in r["interaction"]} for r in statement["rest"][0]["resource"]
    }
    assert served == {
        "ServiceRequest": {"read", "search-type"},
        "Task": {"read", "search-type"},
        "Patient": {"read", "search-type"},
        "Consent": {"read", "search-type"},
        "AuditEvent": {"search-type"},
    }
    assert AuditEntry.objects.count() == before


@pytest.fixture
def two_referrals(members, agencies):
    first = create_case(members, agencies)
    second = create_case(members, agencies)
    for survivor, _ in (first, second):
        ConsentFactory(survivor=survivor, categories=["identity"], recipients=[agencies["shelter"]])
        sync_statuses(survivor)
    return first[1], second[1]


def test_last_updated_selects_and_refuses_what_it_cannot_read(two_referrals, members):
    liaison = client_for(members["liaison"])
    now = timezone.now()
    past, future = now - timedelta(hours=1), now + timedelta(hours=1)

    def ids(query):
        return {r["id"] for r in entries(fhir_get(liaison, f"/fhir/R4/ServiceRequest?{query}"))}

    both = {str(r.id) for r in two_referrals}
    instant = quote(past.isoformat())
    assert ids(f"_lastUpdated=ge{instant}") == both
    assert ids(f"_lastUpdated=gt{quote(future.isoformat())}") == set()
    assert ids(f"_lastUpdated=ge{instant}&_lastUpdated=lt{quote(future.isoformat())}") == both
    assert ids(f"_lastUpdated=le{(now + timedelta(days=1)).date().isoformat()}") == both
    assert ids(f"_lastUpdated=lt{(now - timedelta(days=2)).date().isoformat()}") == set()
    assert ids(f"_lastUpdated=ge{now.date().isoformat()}") == both
    # An offset PostgreSQL cannot store (beyond ±15:59) is compared in UTC.
    assert ids(f"_lastUpdated=ge{quote('1902-06-05T18:55:04-20:59')}") == both
    assert ids("_format=json") == both
    for bad in (
        "_lastUpdated=2026-05-01",  # no prefix
        "_lastUpdated=eq2026-05-01",
        "_lastUpdated=ge2026-05-01T09:00:00",  # no offset
        "_lastUpdated=genot-a-date",
        "status=active",  # not supported
        "_format=xml",
    ):
        before = AuditEntry.objects.count()
        outcome = fhir_get(liaison, f"/fhir/R4/Task?{bad}", 400)
        assert outcome["issue"][0]["code"] == "invalid"
        assert AuditEntry.objects.count() == before, bad  # bad input reads nothing


def test_search_pages_with_next_links(two_referrals, members):
    caseworker = client_for(members["caseworker"])
    first = fhir_get(caseworker, "/fhir/R4/ServiceRequest?_count=1")
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert len(entries(first)) == 1
    assert "next" in links
    second = fhir_get(caseworker, links["next"])
    seen = {r["id"] for r in entries(first) + entries(second)}
    assert seen == {str(r.id) for r in two_referrals}


@pytest.mark.parametrize(
    "who", ["liaison", "caseworker", "admin", "outsider", "legal_caseworker", "compliance"]
)
def test_audit_events_are_for_compliance_officers_only(who, members):
    before = AuditEntry.objects.count()
    client = client_for(members[who])
    if who == "compliance":
        bundle = fhir_get(client, "/fhir/R4/AuditEvent")
        assert {r["resourceType"] for r in entries(bundle)} <= {"AuditEvent"}
        assert AuditEntry.objects.filter(action="list", object_type="audit_entry").count() == 1
        return
    outcome = fhir_get(client, "/fhir/R4/AuditEvent", 403)
    assert outcome["issue"][0]["code"] == "forbidden"
    refused = list(AuditEntry.objects.order_by("pk")[before:])
    assert [(e.action, e.actor_user_id) for e in refused] == [("denied", members[who].user_id)]


def test_errors_are_operation_outcomes(members, two_referrals):
    anonymous = fhir_get(client_for(), "/fhir/R4/ServiceRequest", 401)
    assert anonymous["issue"][0]["code"] == "login"
    assert fhir_get(client_for(members["admin"]), "/fhir/R4/Task", 403)["issue"][0]["code"] == (
        "forbidden"
    )
    liaison = client_for(members["liaison"])
    assert fhir_get(liaison, "/fhir/R4/Observation", 404)["issue"][0]["code"] == "not-found"
    assert fhir_get(liaison, "/fhir/R4/Task/not-an-id", 404)["issue"][0]["code"] == "not-found"
    response = liaison.post("/fhir/R4/ServiceRequest", {}, format="json")
    assert response.status_code == 405  # read-only


def test_a_client_asking_for_plain_json_gets_fhir_json(members, two_referrals):
    response = client_for(members["liaison"]).get(
        "/fhir/R4/ServiceRequest", HTTP_ACCEPT="application/json"
    )
    assert response["Content-Type"] == "application/fhir+json"


def test_consent_reads_as_fhir_consent(members, agencies):
    survivor, _ = create_case(members, agencies)
    consent = ConsentFactory(
        survivor=survivor,
        categories=["identity", "status_updates"],
        recipients=[agencies["shelter"]],
    )
    liaison = client_for(members["liaison"])
    found = [
        c for c in entries(fhir_get(liaison, "/fhir/R4/Consent")) if c["id"] == str(consent.id)
    ]
    read = fhir_get(liaison, f"/fhir/R4/Consent/{consent.id}")
    assert found == [read]
    assert read["status"] == "active"
    assert read["patient"]["identifier"]["value"] == survivor.ref
    assert {c["coding"][0]["code"] for c in read["provision"]["code"]} == {
        "identity",
        "status_updates",
    }
    assert [a["reference"]["identifier"]["value"] for a in read["provision"]["actor"]] == [
        str(agencies["shelter"].id)
    ]
    # another agency's liaison does not find it: the same 404 as a missing id
    other = client_for(MemberFactory(agency=agencies["outsider"], role="liaison"))
    assert fhir_get(other, f"/fhir/R4/Consent/{consent.id}", 404) == fhir_get(
        other, f"/fhir/R4/Consent/{uuid.uuid4()}", 404
    )
    assert entries(fhir_get(other, "/fhir/R4/Consent")) == []
