"""Erasure: ``POST /api/v1/survivors/{id}/erasure/`` by a liaison of the owner agency
cancels the survivor's open referrals (with their events), ends their consents, and
leaves a profile that answers 410; the audit chain and the ledger still verify."""

import pytest
from django.db.models import Max
from django.test import Client

from audit.models import Action, AuditEntry, Disclosure
from audit.verify import verify_chain
from consent.models import Consent, Survivor
from coordination import services, states
from coordination.models import CaseNote, Event, RecipientStatus, Referral, StatusChange
from tests.conftest import client_for
from tests.coordination import erasure_world
from tests.coordination.erasure_world import CANARIES, erase
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(members, agencies):
    return erasure_world.build(members, agencies)


def statuses(referral_id) -> dict:
    return dict(
        RecipientStatus.objects.filter(referral_id=referral_id).values_list(
            "agency__slug", "status"
        )
    )


def test_erasure_cancels_open_referrals_with_their_events_and_ends_every_consent(
    world, members, agencies, django_capture_on_commit_callbacks
):
    before = Event.objects.aggregate(last=Max("seq"))["last"] or 0
    with django_capture_on_commit_callbacks(execute=True) as nudges:
        response = erase(members["liaison"], world["survivor"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "ref", "erased_at"}
    assert statuses(world["open"]) == {"shelter": "cancelled", "legal": "cancelled"}
    assert statuses(world["closed"]) == {"shelter": "completed", "legal": "cancelled"}
    events = list(Event.objects.filter(seq__gt=before).order_by("seq"))
    # The shelter hears consent.revoked first (the last thing a recipient hears), then
    # every open status is cancelled; legal was never released, so it hears nothing.
    assert (events[0].kind, events[0].agency.slug) == ("consent.revoked", "shelter")
    assert sorted((e.kind, e.agency.slug) for e in events[1:]) == [
        ("referral.cancelled", "legal"),
        ("referral.cancelled", "legal"),
        ("referral.cancelled", "shelter"),
    ]
    assert {str(e.referral_id) for e in events[1:]} == {world["open"], world["closed"]}
    assert all(e.survivor_ref == body["ref"] for e in events)
    assert nudges, "the sockets are nudged after commit"
    consents = Consent.objects.filter(survivor_id=world["survivor"])
    assert all(hasattr(c, "revocation") for c in consents)
    assert {c.revocation.channel for c in consents} == {"oral", "erasure"}


def test_erasure_is_audited_with_its_reason_code_and_no_pii(world, members):
    erase(members["liaison"], world["survivor"], reason="recorded_in_error")
    survivor = Survivor.objects.get(pk=world["survivor"])
    entry = AuditEntry.objects.get(action=Action.ERASURE)
    assert (entry.survivor_ref, entry.object_id) == (survivor.ref, str(survivor.pk))
    assert entry.actor_user_id == members["liaison"].user_id
    assert entry.detail == {
        "reason": "recorded_in_error",
        "consents_revoked": 1,
        "referrals_cancelled": 2,
    }
    cancels = AuditEntry.objects.filter(action=Action.TRANSITION, detail__cause="erasure")
    assert {c.object_id for c in cancels} == {world["open"], world["closed"]}
    written = " ".join(str(row) for row in AuditEntry.objects.values())
    assert not [c for c in CANARIES.values() if c in written]


def test_the_profile_answers_410_and_nothing_new_can_be_tied_to_the_survivor(
    world, members, agencies
):
    erase(members["liaison"], world["survivor"])
    liaison = client_for(members["liaison"])
    survivor = world["survivor"]
    answers = [
        liaison.get(f"/api/v1/survivors/{survivor}/"),
        liaison.patch(f"/api/v1/survivors/{survivor}/", {"phone": "x"}, format="json"),
        liaison.post(
            "/api/v1/consents/",
            erasure_world.consent_body(survivor, agencies["shelter"].pk, ["identity"]),
            format="json",
        ),
        liaison.post(
            "/api/v1/referrals/",
            {"survivor": survivor, "recipients": [agencies["shelter"].pk]}
            | {"needs": ["shelter"], "urgency": "high"},
            format="json",
        ),
        # A replay of the creation: its stored response was shredded with the key.
        liaison.post(
            "/api/v1/survivors/",
            erasure_world.SURVIVOR_CANARIES,
            format="json",
            HTTP_IDEMPOTENCY_KEY="s-1",
        ),
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(410, "erased")] * 5
    browser = Client()
    browser.force_login(members["liaison"].user)
    for path in (f"/survivors/{survivor}/", f"/survivors/{survivor}/consents/"):
        assert browser.get(path, HTTP_ACCEPT="text/html").status_code == 410


def test_the_referrer_still_sees_the_referral_without_any_pii(world, members):
    erase(members["liaison"], world["survivor"])
    liaison = client_for(members["liaison"])
    shown = liaison.get(f"/api/v1/referrals/{world['closed']}/").json()
    assert shown["survivor"]["ref"]
    assert shown["narrative"] is None
    assert all(shown["survivor"][name] is None for name in erasure_world.SURVIVOR_CANARIES)
    notes = liaison.get(f"/api/v1/referrals/{world['closed']}/notes/").json()["results"]
    assert notes
    assert {note["text"] for note in notes} == {""}
    # The shelter's consent ended: the referral is gone from its side.
    worker = client_for(members["caseworker"])
    assert worker.get(f"/api/v1/referrals/{world['closed']}/").status_code == 404


def test_every_pii_column_tied_to_the_survivor_is_blank_in_the_live_database(world, members):
    erase(members["liaison"], world["survivor"])
    survivor = Survivor.objects.get(pk=world["survivor"])
    assert survivor.erased_at is not None
    assert all(getattr(survivor, name) == "" for name in erasure_world.SURVIVOR_CANARIES)
    referrals = Referral.objects.filter(survivor=survivor)
    assert set(referrals.values_list("narrative", flat=True)) == {""}
    assert set(CaseNote.objects.filter(referral__in=referrals).values_list("text", flat=True)) == {
        ""
    }
    reasons = StatusChange.objects.filter(recipient_status__referral__in=referrals)
    assert set(reasons.values_list("reason", flat=True)) == {""}


def test_erasing_again_changes_nothing(world, members):
    first = erase(members["liaison"], world["survivor"])
    entries, events = AuditEntry.objects.count(), Event.objects.count()
    again = erase(members["liaison"], world["survivor"])
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert (AuditEntry.objects.count(), Event.objects.count()) == (entries, events)


def test_a_retry_destroys_a_key_that_a_failure_left(world, members):
    """The data commit succeeded but the key survived (a crash between the stores):
    the retry finishes the erasure and says so on the record."""
    from consent import data_keys

    erase(members["liaison"], world["survivor"])
    from consent.models import DataKey

    DataKey.objects.using("keys").filter(pk=world["survivor"]).update(
        wrapped=data_keys.crypto.encrypt("left-over"), destroyed_at=None
    )
    assert erase(members["liaison"], world["survivor"]).status_code == 200
    assert data_keys.is_destroyed(world["survivor"])
    retry = AuditEntry.objects.filter(action=Action.ERASURE).order_by("pk").last()
    assert retry.detail == {"retry": True}


def test_the_chain_and_the_ledger_still_verify_after_erasure(world, members):
    ledger_before = list(Disclosure.objects.order_by("pk").values())
    erase(members["liaison"], world["survivor"])
    from audit import sealer

    sealer.flush()
    result = verify_chain()
    assert result.ok, result
    assert list(Disclosure.objects.order_by("pk").values())[: len(ledger_before)] == ledger_before
    compliance = client_for(members["compliance"])
    ref = Survivor.objects.get(pk=world["survivor"]).ref
    ledger = compliance.get("/api/v1/audit/ledger/", {"survivor_ref": ref})
    assert ledger.status_code == 200
    assert len(ledger.json()["results"]) == len(
        [d for d in ledger_before if d["survivor_ref"] == ref]
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("liaison", 200),  # liaison of the owner agency
        ("other_liaison", 404),  # a liaison of another agency: existence not revealed
        ("colleague_caseworker", 403),  # the owner agency, another role
        ("caseworker", 403),  # the recipient's caseworker
        ("admin", 403),
        ("outsider", 403),
        ("compliance", 403),
        ("network_admin", 403),
        ("anonymous", 401),
    ],
)
def test_only_a_liaison_of_the_owner_agency_erases(world, members, agencies, who, expected):
    others = {
        "other_liaison": MemberFactory(agency=agencies["shelter"], role="liaison"),
        "colleague_caseworker": MemberFactory(agency=agencies["police"], role="caseworker"),
        "anonymous": None,
    }
    member = others[who] if who in others else members[who]
    response = erase(member, world["survivor"])
    assert response.status_code == expected
    erased = Survivor.objects.get(pk=world["survivor"]).erased_at is not None
    assert erased == (expected == 200)
    if expected != 200:
        assert statuses(world["open"]) == {"shelter": "accepted", "legal": "awaiting_consent"}


@pytest.mark.parametrize(
    "reason", ["", "retention_period", "The survivor asked on the phone", None, 7]
)
def test_the_reason_is_one_of_the_member_codes(world, members, reason):
    response = client_for(members["liaison"]).post(
        f"/api/v1/survivors/{world['survivor']}/erasure/", {"reason": reason}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert Survivor.objects.get(pk=world["survivor"]).erased_at is None


def test_an_unknown_survivor_is_not_found(members):
    import uuid

    assert erase(members["liaison"], str(uuid.uuid4())).status_code == 404


def test_the_system_erases_without_a_member(world, members):
    survivor = services.survivor_erase(
        actor=None, survivor_id=world["survivor"], reason="retention_period"
    )
    entry = AuditEntry.objects.get(action=Action.ERASURE)
    assert (entry.actor_username, entry.detail["reason"]) == ("system", "retention_period")
    assert survivor.erased_at is not None
    assert states.CANCELLED in statuses(world["open"]).values()


def test_the_pages_list_an_erased_survivor_by_ref_only_and_never_offer_it(world, members):
    erase(members["liaison"], world["survivor"])
    ref = Survivor.objects.get(pk=world["survivor"]).ref
    browser = Client()
    browser.force_login(members["liaison"].user)
    listing = browser.get("/survivors/").content.decode()
    assert ref in listing
    assert "Erased" in listing
    assert f"/survivors/{world['survivor']}/" not in listing
    assert world["survivor"] not in browser.get("/referrals/new/").content.decode()
