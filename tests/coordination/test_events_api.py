"""``GET /api/v1/events/``: the stream over REST, and a matrix showing that an event
never tells an agency more than the referral API shows it."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from coordination import event_stream, services
from tests.conftest import client_for
from tests.coordination import live_helpers as h

pytestmark = pytest.mark.django_db

CATEGORY_SETS = {
    "identity": ("identity",),
    "status_updates": ("identity", "status_updates"),
    "case_notes": ("identity", "case_notes"),
    "narrative": ("identity", "narrative"),
    "everything": ("identity", "contact", "narrative", "status_updates", "case_notes"),
}
CONSENT_STATES = [*CATEGORY_SETS, "revoked", "none"]
VIEWERS = ["liaison", "caseworker", "legal_caseworker", "outsider"]


def stream(member, after=0):
    return client_for(member).get(f"/api/v1/events/?after={after}")


def play(members, agencies, shelter_consent: str):
    """Shelter's consent as given; legal aid fully consented. Both recipients accept
    and write a note; the referrer writes a note."""
    liaison, shelter, legal = (members[n] for n in ("liaison", "caseworker", "legal_caseworker"))
    survivor = h.make_survivor(liaison)
    services.consent_record(
        actor=liaison,
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "legal", categories=CATEGORY_SETS["everything"]),
    )
    shelter_grant = None
    if shelter_consent != "none":
        categories = CATEGORY_SETS.get(shelter_consent, CATEGORY_SETS["everything"])
        shelter_grant = services.consent_record(
            actor=liaison,
            survivor_id=survivor.id,
            **h.consent_fields(agencies, "shelter", categories=categories),
        )
    referral = h.make_referral(liaison, survivor, [agencies["shelter"], agencies["legal"]])
    for actor in (shelter, legal):
        if shelter_grant is None and actor is shelter:
            continue
        services.referral_transition(actor=actor, referral_id=referral.id, action="accept")
        services.note_add(actor=actor, referral_id=referral.id, text="canary-note")
    services.note_add(actor=liaison, referral_id=referral.id, text="canary-note")
    if shelter_consent == "revoked":
        services.consent_revoke(
            actor=liaison, consent_id=shelter_grant.id, reason="canary", channel="oral"
        )
    return referral


@pytest.mark.parametrize("shelter_consent", CONSENT_STATES)
def test_events_never_tell_more_than_the_referral_api(members, agencies, shelter_consent):
    referral = play(members, agencies, shelter_consent)
    for name in VIEWERS:
        member = members[name]
        client = client_for(member)
        events = stream(member).json()["results"]
        assert all("canary" not in str(e) for e in events)
        detail = client.get(f"/api/v1/referrals/{referral.id}/")
        if detail.status_code == 404:
            # Hidden: at most the news that this agency's own access ended.
            assert {(e["kind"], e["agency"]) for e in events} <= {
                ("consent.revoked", member.agency_id)
            }
            assert (shelter_consent == "revoked" and name == "caseworker") == bool(events)
            continue
        shown = {r["agency"]: r["status"] for r in detail.json()["recipients"]}
        notes = client.get(f"/api/v1/referrals/{referral.id}/notes/").json()["results"]
        note_authors = [n["author_agency"] for n in notes]
        status_events = {(e["agency"], e["status"]) for e in events if e["kind"] != "note.added"}
        note_events = [e["agency"] for e in events if e["kind"] == "note.added"]
        # Every status announced is one the API shows (or shows since moved past it)...
        history = {
            "requested": {"requested", "received", "accepted", "consent_revoked"},
            "accepted": {"accepted", "consent_revoked"},
            "consent_revoked": {"consent_revoked"},
        }
        for agency, status in status_events:
            assert agency in shown, (name, agency)
            assert shown[agency] in history[status], (name, agency, status, shown[agency])
        # ...every status the API shows beyond "requested" was announced...
        for agency, status in shown.items():
            if status not in ("requested", "awaiting_consent"):
                assert (agency, status) in status_events, (name, agency, status)
        # ...and notes are announced exactly as the notes list shows them.
        assert sorted(note_events) == sorted(note_authors), name


def test_after_pages_through_the_stream_by_last_seq(members, agencies, monkeypatch):
    play(members, agencies, "everything")
    whole = stream(members["liaison"]).json()
    assert whole["results"]
    assert whole["last_seq"] == event_stream.head_seq(members["liaison"].agency_id)
    # The agency's own numbering: every number is an event it was shown.
    assert [e["seq"] for e in whole["results"]] == list(range(1, whole["last_seq"] + 1))
    monkeypatch.setattr(event_stream, "EVENT_BATCH", 2)
    pages, after = [], 0
    while True:
        body = stream(members["liaison"], after).json()
        pages += body["results"]
        if body["last_seq"] == after:
            break
        after = body["last_seq"]
    assert pages == whole["results"]
    assert [e["seq"] for e in pages] == sorted({e["seq"] for e in pages})
    assert stream(members["liaison"], whole["last_seq"]).json() == {
        "results": [],
        "last_seq": whole["last_seq"],
    }


@pytest.mark.parametrize("after", ["-1", "abc", "1.5", "", "٣", str(2**63)])
def test_bad_after_is_a_400_with_a_code(members, after):
    response = client_for(members["liaison"]).get("/api/v1/events/", {"after": after})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "after" in response.json()["fields"]


@pytest.mark.parametrize("name", ["admin", "compliance"])
def test_roles_without_referrals_are_refused(members, name):
    assert stream(members[name]).status_code == 403


def test_reading_the_stream_is_audited(members, agencies):
    play(members, agencies, "everything")
    body = stream(members["caseworker"]).json()
    entry = AuditEntry.objects.filter(object_type="event").get()
    assert entry.action == "list"
    assert entry.actor_agency == "shelter"
    assert entry.detail["count"] == len(body["results"])
    assert [item["seq"] for item in entry.detail["filters"]["items"]] == [
        e["seq"] for e in body["results"]
    ]
    assert "canary" not in str(entry.detail)
