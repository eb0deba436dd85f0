"""Every FHIR read leaves the audit entry its REST twin leaves (the same selector
wrote it), and a hidden referral's 404 is the missing one's, body and entry alike."""

from __future__ import annotations

import uuid

import pytest

from audit.models import AuditEntry
from tests.conftest import client_for
from tests.coordination.fhir.validation import fhir_get
from tests.coordination.test_api import create_case, sync_statuses
from tests.factories import ConsentFactory

pytestmark = pytest.mark.django_db

COMPARED = (
    "action",
    "outcome",
    "actor_user_id",
    "actor_agency_id",
    "actor_role",
    "object_type",
    "object_id",
    "survivor_ref",
    "categories",
    "consent_ids",
    "detail",
)


def _entry_of(client, path: str) -> dict:
    before = AuditEntry.objects.count()
    response = client.get(path)
    assert response.status_code < 500
    new = list(AuditEntry.objects.order_by("pk")[before:])
    assert len(new) == 1, [(e.action, e.object_type) for e in new]
    return {name: getattr(new[0], name) for name in COMPARED}


@pytest.fixture
def case(members, agencies):
    survivor, referral = create_case(members, agencies)
    ConsentFactory(
        survivor=survivor, categories=["identity", "contact"], recipients=[agencies["shelter"]]
    )
    sync_statuses(survivor)
    return survivor, referral


def _twins(survivor, referral, shelter_id):
    """(member, REST path, FHIR path) pairs that read the same thing."""
    task = f"{referral.id}-{shelter_id}"
    return [
        ("caseworker", f"/api/v1/referrals/{referral.id}/", f"ServiceRequest/{referral.id}"),
        ("liaison", f"/api/v1/referrals/{referral.id}/", f"ServiceRequest/{referral.id}"),
        ("caseworker", "/api/v1/referrals/", "ServiceRequest"),
        ("liaison", "/api/v1/referrals/", "ServiceRequest"),
        ("caseworker", f"/api/v1/referrals/{referral.id}/", f"Task/{task}"),
        ("liaison", f"/api/v1/referrals/{referral.id}/", f"Task/{task}"),
        ("caseworker", "/api/v1/referrals/", "Task"),
        ("caseworker", "/api/v1/referrals/", "Patient"),
        ("caseworker", f"/api/v1/referrals/{referral.id}/", f"Patient/{survivor.id}"),
        ("liaison", f"/api/v1/survivors/{survivor.id}/", f"Patient/{survivor.id}"),
        ("liaison", "/api/v1/survivors/", "Patient"),
        ("liaison", "/api/v1/consents/", "Consent"),
        ("compliance", "/api/v1/audit/entries/?page_size=5", "AuditEvent?_count=5"),
    ]


def test_each_fhir_read_leaves_its_rest_twins_entry(case, members, agencies):
    survivor, referral = case
    for who, rest, fhir in _twins(survivor, referral, agencies["shelter"].id):
        client = client_for(members[who])
        rest_entry = _entry_of(client, rest)
        fhir_entry = _entry_of(client, f"/fhir/R4/{fhir}")
        assert fhir_entry == rest_entry, (who, fhir)


def test_a_recipient_without_consent_gets_the_404_of_a_missing_id(case, members, agencies):
    survivor, referral = case
    outsider = client_for(members["outsider"])
    pairs = [
        (f"ServiceRequest/{referral.id}", f"ServiceRequest/{uuid.uuid4()}"),
        (f"Task/{referral.id}-{agencies['shelter'].id}", f"Task/{uuid.uuid4()}-1"),
        (f"Patient/{survivor.id}", f"Patient/{uuid.uuid4()}"),
    ]
    for hidden, missing in pairs:
        responses = []
        for path in (hidden, missing):
            before = AuditEntry.objects.count()
            response = outsider.get(f"/fhir/R4/{path}")
            # (The outsider's fifth refusal also raises the system's access alert.)
            denied = [
                e for e in AuditEntry.objects.order_by("pk")[before:] if e.action != "alert_raise"
            ]
            assert [(e.action, e.outcome) for e in denied] == [("denied", "denied")]
            assert denied[0].categories == []
            responses.append(response)
        assert [r.status_code for r in responses] == [404, 404]
        assert responses[0].content == responses[1].content
        body = fhir_get(outsider, f"/fhir/R4/{hidden}", 404)
        assert body["issue"][0]["code"] == "not-found"


def test_a_recipient_reads_only_its_own_task(case, members, agencies):
    """The legal aid agency was asked too: the shelter does not learn it."""
    _, referral = case
    caseworker = client_for(members["caseworker"])
    fhir_get(caseworker, f"/fhir/R4/Task/{referral.id}-{agencies['legal'].id}", 404)
    before = AuditEntry.objects.filter(action="view").count()
    fhir_get(caseworker, f"/fhir/R4/Task/{referral.id}-{agencies['shelter'].id}")
    # the refused read's ``view`` was rolled back with it; the allowed one stays
    assert AuditEntry.objects.filter(action="view").count() == before + 1
