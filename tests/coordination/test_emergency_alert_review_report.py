"""Emergency access end to end, across the pieces that record it: opening it raises an
access alert at once (in the app, and by email to compliance officers and the member's
agency admin, without PII), compliance reviews the use, the ledger marks the
disclosures ``emergency``, and the survivor's disclosure report lists them."""

from __future__ import annotations

import pytest
from django.core import mail

from audit.models import Alert, AlertRule, Disclosure
from coordination.models import EmergencyAccess
from tests.conftest import client_for
from tests.coordination.emergency_world import JUSTIFICATION, make_world, open_body

pytestmark = pytest.mark.django_db


def _with_email(member, address: str):
    member.user.email = address
    member.user.save(update_fields=["email"])
    return member


@pytest.mark.parametrize("state", ["active", "none"])
def test_an_emergency_access_is_alerted_reviewed_and_reported(
    state, agencies, members, django_capture_on_commit_callbacks
):
    world = make_world(state, agencies, members)
    caseworker, referral, survivor = members["caseworker"], world["referral"], world["survivor"]
    _with_email(members["compliance"], "officer@example.org")
    _with_email(members["admin"], "shelter-admin@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        opened = client_for(caseworker).post(
            f"/api/v1/referrals/{referral.pk}/emergency-access/", open_body(), format="json"
        )
    assert opened.status_code == 201, opened.content
    access = EmergencyAccess.objects.get(pk=opened.json()["id"])

    # The alert, at once: stored, listed to compliance, emailed without PII.
    (alert,) = Alert.objects.filter(rule=AlertRule.EMERGENCY_ACCESS)
    assert alert.actor_user_id == caseworker.user_id
    listed = client_for(members["compliance"]).get("/api/v1/audit/alerts/").json()["results"]
    assert [item["id"] for item in listed] == [alert.pk]
    assert sorted(to for message in mail.outbox for to in message.to) == [
        "officer@example.org",
        "shelter-admin@example.org",
    ]
    for message in mail.outbox:
        text = message.subject + message.body
        for secret in (JUSTIFICATION, survivor.ref, caseworker.user.username, "canary"):
            assert secret not in text

    # The member reads under it: the ledger marks the disclosure ``emergency``.
    assert client_for(caseworker).get(f"/api/v1/referrals/{referral.pk}/").status_code == 200
    line = Disclosure.objects.filter(survivor_ref=survivor.ref).latest("id")
    assert (line.basis, line.emergency_access_ids) == ("emergency", [str(access.pk)])

    # The owner agency's disclosure report lists it, with its reason.
    report = client_for(members["liaison"]).get(f"/api/v1/survivors/{survivor.pk}/disclosures/")
    assert report.status_code == 200
    emergency_lines = [item for item in report.json()["results"] if item["basis"] == "emergency"]
    assert emergency_lines, report.json()
    assert all(item["agency_name"] == caseworker.agency.name for item in emergency_lines)
    assert all(item["agency"] == caseworker.agency_id for item in emergency_lines)

    # Compliance reviews the use, once; the alert is acknowledged with a note.
    reviewed = client_for(members["compliance"]).post(
        f"/api/v1/emergency-access/{access.pk}/review/",
        {"decision": "unjustified", "note": "No imminent danger on record."},
        format="json",
    )
    assert reviewed.status_code == 200, reviewed.content
    access.refresh_from_db()
    assert access.review_status == "unjustified"
    acknowledged = client_for(members["compliance"]).post(
        f"/api/v1/audit/alerts/{alert.pk}/acknowledge/",
        {"note": "Reviewed: unjustified."},
        format="json",
    )
    assert acknowledged.status_code == 200, acknowledged.content


def test_erasure_shreds_the_emergency_justification_with_the_rest(agencies, members):
    """The justification may speak of the survivor: it is under their data key, and an
    erasure blanks it with their other free text."""
    world = make_world("active", agencies, members)
    opened = client_for(members["caseworker"]).post(
        f"/api/v1/referrals/{world['referral'].pk}/emergency-access/", open_body(), format="json"
    )
    assert opened.status_code == 201, opened.content
    erased = client_for(members["liaison"]).post(
        f"/api/v1/survivors/{world['survivor'].pk}/erasure/",
        {"reason": "survivor_request"},
        format="json",
    )
    assert erased.status_code == 200, erased.content
    assert EmergencyAccess.objects.get(pk=opened.json()["id"]).justification == ""
