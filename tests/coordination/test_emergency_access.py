"""Emergency access (break-glass): who may open it, what it releases, to whom, for how
long, what it writes, and how compliance reviews it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from audit.models import AuditEntry, Disclosure
from audit.verify import verify_chain
from consent.categories import RECIPIENT_CATEGORIES
from consent.grants import Grant
from coordination import services
from coordination.access_rule import _recipient_release
from coordination.emergency import EmergencyGrant
from coordination.models import EmergencyAccess, Event
from tests.conftest import client_for
from tests.coordination.emergency_world import (
    CONSENT_STATES,
    CONSENTED,
    JUSTIFICATION,
    OPENED,
    make_world,
    open_body,
)
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

RELATIONS = {"recipient": "shelter", "referrer": "police", "other": "outsider"}
ROLES = ("caseworker", "liaison", "agency_admin", "compliance_officer")


def _open(member, referral, **changes):
    return client_for(member).post(
        f"/api/v1/referrals/{referral.pk}/emergency-access/", open_body(**changes), format="json"
    )


def _expected(role: str, relation: str, state: str, enabled: bool) -> tuple[int, str]:
    if role != "caseworker":
        return 403, "permission_denied"
    if not enabled:
        return 403, "emergency_access_disabled"
    if relation != "recipient":
        return 404, "not_found"
    if state == "revoked_no_emergency":
        return 403, "emergency_access_refused"
    return 201, ""


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("state", CONSENT_STATES)
@pytest.mark.parametrize("relation", list(RELATIONS))
@pytest.mark.parametrize("role", ROLES)
def test_who_may_open_emergency_access(role, relation, state, enabled, agencies, members, settings):
    settings.EMERGENCY_ACCESS_ENABLED = enabled
    world = make_world(state, agencies, members)
    member = MemberFactory(agency=agencies[RELATIONS[relation]], role=role)
    response = _open(member, world["referral"])
    status, code = _expected(role, relation, state, enabled)
    assert response.status_code == status, response.json()
    # The request's last entry (an alert the watch raised when sealing it is the system's).
    last = AuditEntry.objects.exclude(action="alert_raise").order_by("pk").last()
    if status != 201:
        assert response.json()["code"] == code
        assert not EmergencyAccess.objects.exists()
        assert (last.action, last.outcome) == ("denied", "denied")
        return
    opened = EmergencyAccess.objects.get()
    assert (opened.member, opened.agency_id, opened.review_status) == (
        member,
        agencies["shelter"].pk,
        "pending",
    )
    assert opened.expires_at - opened.opened_at == timedelta(hours=4)
    assert response.json()["id"] == str(opened.pk)
    # The entry the access alerts fire on: who (user, agency, role), why, what, until when.
    assert last.action == "emergency_access"
    assert (last.actor_user_id, last.actor_agency_id, last.actor_role) == (
        member.user_id,
        agencies["shelter"].pk,
        "caseworker",
    )
    assert last.survivor_ref == world["survivor"].ref
    assert last.detail == {
        "referral": str(world["referral"].pk),
        "reason_code": "imminent_danger",
        "categories": sorted(OPENED),
        "expires_at": opened.expires_at.isoformat(),
    }
    assert Event.objects.filter(kind=Event.EMERGENCY_OPENED, agency=agencies["shelter"]).exists()


def _read(member, referral):
    return client_for(member).get(f"/api/v1/referrals/{referral.pk}/")


@pytest.mark.parametrize("state", ["active", "expired", "revoked", "none"])
def test_only_that_member_sees_only_the_named_categories(state, agencies, members):
    world = make_world(state, agencies, members)
    member, referral = members["caseworker"], world["referral"]
    assert _open(member, referral).status_code == 201
    body = _read(member, referral).json()
    consented = set(CONSENTED) if state == "active" else set()
    assert set(body["released_categories"]) == consented | set(OPENED)
    assert body["emergency_categories"] == sorted(set(OPENED) - consented)
    assert body["survivor"]["family_name"] == "canary-family-5W"
    assert body["survivor"]["address"] == "canary-address-5W"
    assert body["narrative"] == "canary-narrative-5W"
    assert ("phone" in body["survivor"]) == (state == "active")
    assert "nationality" not in body["survivor"]  # immigration was not opened
    listed = client_for(member).get("/api/v1/referrals/").json()["results"]
    assert [item["id"] for item in listed] == [str(referral.pk)]
    # A colleague of the same agency, and the other recipient, see what consent says.
    colleague = _read(world["colleague"], referral)
    if state == "active":
        assert colleague.json()["released_categories"] == CONSENTED
        assert "family_name" not in colleague.json()["survivor"]
    else:
        assert colleague.status_code == 404
    assert _read(members["legal_caseworker"], referral).status_code == 404
    listed = client_for(world["colleague"]).get("/api/v1/referrals/").json()["results"]
    assert [item["id"] for item in listed] == ([str(referral.pk)] if state == "active" else [])
    assert all(item["emergency_categories"] == [] for item in listed)


@pytest.mark.parametrize("state", ["active", "none"])
def test_the_access_ends_when_it_expires(state, agencies, members, settings, time_machine):
    settings.EMERGENCY_ACCESS_HOURS = 2
    time_machine.move_to(timezone.now(), tick=False)
    world = make_world(state, agencies, members)
    member, referral = members["caseworker"], world["referral"]
    assert _open(member, referral).status_code == 201
    time_machine.shift(timedelta(hours=2) - timedelta(seconds=1))
    assert "family_name" in _read(member, referral).json()["survivor"]
    time_machine.shift(timedelta(seconds=1))
    after = _read(member, referral)
    if state == "active":
        assert after.json()["released_categories"] == CONSENTED
        assert after.json()["emergency_categories"] == []
    else:
        assert after.status_code == 404


@pytest.mark.parametrize(
    "ending", ["switched_off", "survivor_refuses", "consent_revoked_without_refusal"]
)
def test_a_switch_off_or_the_survivors_refusal_ends_open_accesses_at_once(
    ending, agencies, members, settings
):
    world = make_world("active", agencies, members)
    member, referral = members["caseworker"], world["referral"]
    assert _open(member, referral).status_code == 201
    if ending == "switched_off":
        settings.EMERGENCY_ACCESS_ENABLED = False
    else:
        services.consent_revoke(
            actor=members["liaison"],
            consent_id=world["consent"].pk,
            reason="asked to stop",
            channel="oral",
            no_emergency_access=ending == "survivor_refuses",
        )
    after = _read(member, referral)
    if ending == "consent_revoked_without_refusal":  # the emergency access still holds
        assert after.json()["released_categories"] == sorted(OPENED)
        return
    if ending == "switched_off":  # consent still holds, the emergency access no longer
        assert after.json()["released_categories"] == CONSENTED
    else:
        assert after.status_code == 404
    assert _open(member, referral).status_code == 403


def _stream(member, after=0) -> list[dict]:
    return client_for(member).get(f"/api/v1/events/?after={after}").json()["results"]


def test_the_rest_stream_follows_the_member_and_the_expiry(agencies, members, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    world = make_world("none", agencies, members)
    member, referral = members["caseworker"], world["referral"]
    assert _open(member, referral).status_code == 201
    services.note_add(actor=members["liaison"], referral_id=referral.pk, text="canary-note-5W")
    kinds = [event["kind"] for event in _stream(member)]
    assert kinds == ["emergency.opened", "note.added"]
    assert all(event["survivor_ref"] == world["survivor"].ref for event in _stream(member))
    assert _stream(world["colleague"]) == []
    assert _stream(members["legal_caseworker"]) == []
    time_machine.shift(timedelta(hours=4))
    services.note_add(actor=members["liaison"], referral_id=referral.pk, text="later")
    assert _stream(member) == []


def test_the_ledger_marks_emergency_disclosures_and_still_verifies(agencies, members):
    world = make_world("active", agencies, members)
    member, referral = members["caseworker"], world["referral"]
    opened = EmergencyAccess.objects.get(pk=_open(member, referral).json()["id"])
    _read(member, referral)
    client_for(member).get("/api/v1/referrals/")
    _read(world["colleague"], referral)  # consent only
    lines = list(Disclosure.objects.filter(survivor_ref=world["survivor"].ref).order_by("id"))
    assert [(line.action, line.actor_user_id, line.basis) for line in lines] == [
        ("view", member.user_id, "emergency"),
        ("list", member.user_id, "emergency"),
        ("view", world["colleague"].user_id, "consent"),
    ]
    for line in lines[:2]:
        assert line.emergency_access_ids == [str(opened.pk)]
        assert line.consent_ids == [str(world["consent"].pk)]
        assert set(line.categories) == set(CONSENTED) | set(OPENED)
    assert lines[2].emergency_access_ids == []
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason_code": "curiosity"}, "reason_code"),
        ({"justification": "too short, 19 chars"}, "justification"),
        ({"justification": "   padded   " + "x" * 7 + "   "}, "justification"),
        ({"categories": []}, "categories"),
        ({"categories": ["status_updates"]}, "categories"),
        ({"categories": ["identity", "everything"]}, "categories"),
    ],
)
def test_bad_input_is_a_clear_400_and_writes_nothing(changes, field, agencies, members):
    world = make_world("none", agencies, members)
    response = _open(members["caseworker"], world["referral"], **changes)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert not EmergencyAccess.objects.exists()
    assert not Event.objects.filter(kind=Event.EMERGENCY_OPENED).exists()


# --- review -----------------------------------------------------------------------------------


def _review(member, access_id, decision="justified", note="canary-review-note-5W"):
    return client_for(member).post(
        f"/api/v1/emergency-access/{access_id}/review/",
        {"decision": decision, "note": note},
        format="json",
    )


@pytest.mark.parametrize("decision", ["justified", "unjustified"])
def test_compliance_reviews_each_use_once(decision, agencies, members):
    world = make_world("none", agencies, members)
    access_id = _open(members["caseworker"], world["referral"]).json()["id"]
    compliance = client_for(members["compliance"])
    pending = compliance.get("/api/v1/emergency-access/?review_status=pending").json()
    assert [item["id"] for item in pending["results"]] == [access_id]
    assert pending["results"][0]["justification"] == JUSTIFICATION
    reviewed = _review(members["compliance"], access_id, decision)
    assert reviewed.status_code == 200
    assert (reviewed.json()["review_status"], reviewed.json()["reviewed_by"]) == (
        decision,
        members["compliance"].user.username,
    )
    entry = AuditEntry.objects.filter(action="emergency_review").get()
    assert entry.detail == {"decision": decision, "agency": agencies["shelter"].pk}
    assert entry.survivor_ref == world["survivor"].ref
    again = _review(members["compliance"], access_id, "unjustified")
    assert (again.status_code, again.json()["code"]) == (409, "already_reviewed")
    assert EmergencyAccess.objects.get().review_status == decision
    for status, expected in (("pending", []), (decision, [access_id])):
        found = compliance.get(f"/api/v1/emergency-access/?review_status={status}").json()
        assert [item["id"] for item in found["results"]] == expected


@pytest.mark.parametrize("who", ["caseworker", "liaison", "admin", "network_admin"])
def test_only_compliance_officers_list_and_review(who, agencies, members):
    world = make_world("none", agencies, members)
    access_id = _open(members["caseworker"], world["referral"]).json()["id"]
    assert client_for(members[who]).get("/api/v1/emergency-access/").status_code == 403
    assert _review(members[who], access_id).status_code == 403
    assert EmergencyAccess.objects.get().review_status == "pending"


def test_a_review_needs_a_decision_and_a_note(agencies, members):
    world = make_world("none", agencies, members)
    access_id = _open(members["caseworker"], world["referral"]).json()["id"]
    for decision, note in (("pending", "fine"), ("justified", ""), ("maybe", "fine")):
        response = _review(members["compliance"], access_id, decision, note)
        assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert EmergencyAccess.objects.get().review_status == "pending"


# --- the rule as a property, and the settings ------------------------------------------------

categories = st.frozensets(st.sampled_from(sorted(RECIPIENT_CATEGORIES)))


@given(consented=categories, opened=categories, with_consent=st.booleans())
def test_a_release_is_consent_plus_what_only_the_emergency_opened(consented, opened, with_consent):
    grant = Grant(categories=set(consented), consent_ids=["c1"]) if with_consent else None
    emergency = EmergencyGrant(categories=set(opened), access_ids=["e1"])
    release = _recipient_release(grant, emergency)
    base = consented if with_consent else frozenset()
    assert release.categories == base | opened
    assert release.emergency_categories == opened - base
    assert release.emergency_ids == (("e1",) if opened - base else ())
    assert bool(release.audit_detail()) == bool(opened - base)
    assert release.consent_ids == (("c1",) if with_consent else ())


@pytest.mark.parametrize(
    ("env", "accepted"),
    [
        ({"EMERGENCY_ACCESS_HOURS": "24"}, True),
        ({"EMERGENCY_ACCESS_HOURS": "25"}, False),
        ({"EMERGENCY_ACCESS_HOURS": "0"}, False),
        ({"EMERGENCY_ACCESS_ENABLED": "false"}, True),
        ({"EMERGENCY_ACCESS_ENABLED": "no"}, False),
    ],
)
def test_the_settings_are_checked_when_they_load(env, accepted, tmp_path):
    probe = "from django.conf import settings; print(settings.EMERGENCY_ACCESS_HOURS)"
    environ = {
        **os.environ,
        **env,
        "DJANGO_SETTINGS_MODULE": "srn.settings",
        "SRN_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=environ, capture_output=True, text=True, check=False
    )
    assert (done.returncode == 0) is accepted, done.stderr[-300:]
    if not accepted:
        assert "ImproperlyConfigured" in done.stderr
        assert next(iter(env)) in done.stderr


def test_the_entry_and_event_hold_no_justification(agencies, members):
    world = make_world("none", agencies, members)
    _open(members["caseworker"], world["referral"])
    _review(members["compliance"], EmergencyAccess.objects.get().pk)
    rows = json.dumps(
        [list(AuditEntry.objects.values()), list(Event.objects.values())], default=str
    )
    assert "canary-justification" not in rows
    assert "canary-review-note" not in rows
    assert "canary-" not in rows


def test_fhir_asks_the_same_decision(agencies, members):
    world = make_world("none", agencies, members)
    member, survivor = members["caseworker"], world["survivor"]
    assert _open(member, world["referral"]).status_code == 201
    patient = client_for(member).get(f"/fhir/R4/Patient/{survivor.pk}")
    assert patient.status_code == 200
    assert "canary-family-5W" in patient.content.decode()
    assert client_for(world["colleague"]).get(f"/fhir/R4/Patient/{survivor.pk}").status_code == 404


@pytest.mark.parametrize("expired", [False, True])
@pytest.mark.parametrize("state", CONSENT_STATES)
def test_the_queryset_keeps_exactly_what_the_release_calls_visible(
    state, expired, agencies, members, time_machine
):
    from coordination import access
    from coordination.models import Referral

    time_machine.move_to(timezone.now(), tick=False)
    world = make_world(state, agencies, members)
    if state != "revoked_no_emergency":
        assert _open(members["caseworker"], world["referral"]).status_code == 201
    if expired:
        time_machine.shift(timedelta(hours=5))
    shelter = agencies["shelter"].pk
    for member in (members["caseworker"], world["colleague"], members["liaison"]):
        kept = set(
            access.visible_referrals(
                Referral.objects.all(), member.agency_id, role=member.role, member_id=member.pk
            ).values_list("pk", flat=True)
        )
        referral = Referral.objects.prefetch_related("recipients").get(pk=world["referral"].pk)
        release = access.release(member.agency_id, referral, role=member.role, member_id=member.pk)
        assert (referral.pk in kept) == release.visible
        if member == world["colleague"] or expired:
            assert release.emergency_categories == frozenset()
    assert shelter in {r.agency_id for r in world["referral"].recipients.all()}
