"""The canary matrix of ``tests/coordination/test_api.py``, over FHIR: for each viewer
x consent state, no FHIR response carries a canary the rule does not release, and
every response (resources, bundles, OperationOutcomes) is valid FHIR R4."""

from __future__ import annotations

import pytest

from consent.categories import FIELD_CATEGORY
from consent.models import ConsentRevocation
from coordination import services
from tests.conftest import client_for
from tests.coordination.fhir.validation import entries, valid_fhir
from tests.coordination.test_api import (
    CONSENT_STATES,
    NOTE_CANARY,
    VIEWERS,
    apply_consent,
    create_case,
    released_canaries,
    sync_statuses,
    viewer_member,
)
from tests.factories import ConsentFactory

pytestmark = pytest.mark.django_db

# The survivor fields FHIR carries (Patient: name, birthDate, telecom, address;
# ServiceRequest.note: the narrative). Safe-contact instructions, nationality and
# immigration status are never mapped.
MAPPED = {"given_name", "family_name", "date_of_birth", "phone", "email", "address", "narrative"}


@pytest.mark.parametrize("state", list(CONSENT_STATES))
@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_no_fhir_response_carries_a_canary_the_rule_does_not_release(
    viewer, state, members, agencies
):
    survivor, referral = create_case(members, agencies)
    ConsentFactory(survivor=survivor, categories=["identity"], recipients=[agencies["shelter"]])
    services.note_add(
        actor=members["liaison"], referral_id=referral.id, text=NOTE_CANARY["referrer"]
    )
    services.note_add(
        actor=members["caseworker"], referral_id=referral.id, text=NOTE_CANARY["recipient"]
    )
    for consent in survivor.consents.all():
        ConsentRevocation.objects.create(consent=consent, channel="written", reason="reset")
    categories = apply_consent(state, survivor, agencies)
    sync_statuses(survivor)

    client = client_for(viewer_member(viewer, members, agencies))
    task = f"{referral.id}-{agencies['shelter'].id}"
    paths = {
        "requests": "ServiceRequest",
        "request": f"ServiceRequest/{referral.id}",
        "tasks": "Task",
        "task": f"Task/{task}",
        "patients": "Patient",
        "patient": f"Patient/{survivor.id}",
        "consents": "Consent",
        "audit": "AuditEvent",
    }
    responses = {name: client.get(f"/fhir/R4/{path}") for name, path in paths.items()}
    bodies = {name: valid_fhir(response) for name, response in responses.items()}
    seen = set().union(*(released_canaries(r.content.decode()) for r in responses.values()))

    _, role, relation = VIEWERS[viewer]
    reads_referrals = role in ("liaison", "caseworker")
    visible = (relation == "referrer" and role == "liaison") or (
        relation == "recipient" and role == "caseworker" and bool(categories)
    )
    if not reads_referrals:
        expected, read = set(), 403
    elif not visible:
        expected, read = set(), 404
        assert entries(bodies["requests"]) == entries(bodies["tasks"]) == []
    elif relation == "referrer":
        expected, read = set(MAPPED), 200
    else:
        expected = {n for n, c in FIELD_CATEGORY.items() if c in categories} & MAPPED
        read = 200
        assert [r["id"] for r in entries(bodies["requests"])] == [str(referral.id)]
        assert [t["id"] for t in entries(bodies["tasks"])] == [task]  # its own only
    for name in ("request", "task"):
        assert responses[name].status_code == read, name
    # A recipient liaison reads only its agency's own survivors: the profile is not found.
    assert responses["patient"].status_code == (404 if role == "liaison" and not visible else read)
    assert responses["consents"].status_code == (200 if role == "liaison" else 403)
    assert responses["audit"].status_code == (200 if role == "compliance_officer" else 403)
    assert seen == expected
