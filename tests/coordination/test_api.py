"""The referral workflow over HTTP: the canary matrix, query counts, idempotency, ETags."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from consent import services as consent_services
from consent.categories import FIELD_CATEGORY
from consent.models import Consent, ConsentRevocation, Survivor
from coordination import services
from coordination.models import Referral
from coordination.services import statuses
from tests.conftest import client_for
from tests.factories import ConsentFactory, MemberFactory

pytestmark = pytest.mark.django_db

CANARIES = {name: f"canary-{name.replace('_', '-')}-7f3k" for name in FIELD_CATEGORY}
CANARIES["date_of_birth"] = "1988-02-29"
CANARIES["email"] = "canary-email-7f3k@example.org"
NOTE_CANARY = {"referrer": "canary-note-referrer-q1", "recipient": "canary-note-recipient-q2"}


def create_case(members, agencies):
    liaison = client_for(members["liaison"])
    survivor = liaison.post(
        "/api/v1/survivors/", {k: v for k, v in CANARIES.items() if k != "narrative"}, format="json"
    ).json()
    referral = liaison.post(
        "/api/v1/referrals/",
        {
            "survivor": survivor["id"],
            "recipients": [agencies["shelter"].id, agencies["legal"].id],
            "needs": ["shelter"],
            "urgency": "high",
            "region": "metro",
            "language": "es",
            "narrative": CANARIES["narrative"],
        },
        format="json",
    )
    assert referral.status_code == 201, referral.json()
    return Survivor.objects.get(pk=survivor["id"]), Referral.objects.get(pk=referral.json()["id"])


DAY = timedelta(days=1)
CONSENT_STATES = {
    "none": None,
    "active_in_scope": {
        "categories": ["identity", "contact", "narrative", "status_updates", "case_notes"]
    },
    "active_other_categories": {"categories": ["location", "immigration"]},
    "active_for_another_agency": {"categories": ["identity", "narrative"], "recipient": "legal"},
    "not_yet_valid": {"categories": ["identity"], "start": DAY},
    "expired": {"categories": ["identity"], "start": -10 * DAY, "life": 5 * DAY},
    "revoked": {"categories": ["identity"], "revoked": True},
}


def apply_consent(state, survivor, agencies):
    spec = CONSENT_STATES[state]
    if spec is None:
        return set()
    start = timezone.now() + spec.get("start", -DAY)
    consent = ConsentFactory(
        survivor=survivor,
        categories=spec["categories"],
        valid_from=start,
        expires_at=start + spec.get("life", 30 * DAY),
        recipients=[agencies[spec.get("recipient", "shelter")]],
    )
    if spec.get("revoked"):
        ConsentRevocation.objects.create(consent=consent, channel="oral", reason="x")
    active = state in ("active_in_scope", "active_other_categories")
    return set(spec["categories"]) if active else set()


# viewer -> (agency, role, relation to the referral)
VIEWERS = {
    "referrer_liaison": ("police", "liaison", "referrer"),
    "referrer_caseworker": ("police", "caseworker", "referrer"),
    "recipient_caseworker": ("shelter", "caseworker", "recipient"),
    "recipient_liaison": ("shelter", "liaison", "recipient"),
    "recipient_admin": ("shelter", "agency_admin", "recipient"),
    "unrelated_caseworker": ("outsider", "caseworker", "unrelated"),
    "unrelated_liaison": ("outsider", "liaison", "unrelated"),
    "compliance": ("oversight", "compliance_officer", "unrelated"),
}


def viewer_member(viewer, members, agencies):
    agency, role, _ = VIEWERS[viewer]
    for member in members.values():
        if member.agency_id == agencies[agency].id and member.role == role:
            return member
    return MemberFactory(agency=agencies[agency], role=role)


def sync_statuses(survivor):
    """Factories write consents directly; let statuses follow as the services would."""
    with transaction.atomic():
        statuses.release_covered(survivor)
        statuses.cut_uncovered(survivor)


def released_canaries(body: str) -> set[str]:
    found = {name for name, value in CANARIES.items() if value in body}
    return found | {f"note:{who}" for who, value in NOTE_CANARY.items() if value in body}


@pytest.mark.parametrize("state", list(CONSENT_STATES))
@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_no_response_carries_a_canary_the_rule_does_not_release(viewer, state, members, agencies):
    survivor, referral = create_case(members, agencies)
    # notes exist on both sides before the consent state is applied
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
    responses = {
        "list": client.get("/api/v1/referrals/"),
        "detail": client.get(f"/api/v1/referrals/{referral.id}/"),
        "notes": client.get(f"/api/v1/referrals/{referral.id}/notes/"),
        "survivor": client.get(f"/api/v1/survivors/{survivor.id}/"),
        "survivors": client.get("/api/v1/survivors/"),
        "consents": client.get("/api/v1/consents/"),
        "transition": client.post(
            f"/api/v1/referrals/{referral.id}/transitions/", {"action": "accept"}, format="json"
        ),
        "add_note": client.post(
            f"/api/v1/referrals/{referral.id}/notes/", {"text": "plain follow-up"}, format="json"
        ),
    }
    seen = set().union(*(released_canaries(r.content.decode()) for r in responses.values()))

    _, role, relation = VIEWERS[viewer]
    reads_referrals = role in ("liaison", "caseworker")
    # Liaisons handle their agency's outgoing referrals, caseworkers its incoming ones.
    visible = (relation == "referrer" and role == "liaison") or (
        relation == "recipient" and role == "caseworker" and bool(categories)
    )
    if not reads_referrals:
        expected, detail, writes = set(), 403, (403, 403)
    elif not visible:
        expected, detail, writes = set(), 404, (404, 404)
        assert responses["list"].json()["results"] == []
        assert responses["notes"].status_code == 404
    elif relation == "referrer":
        expected = set(CANARIES) | {"note:referrer"}
        if "case_notes" in categories:
            expected.add("note:recipient")
        detail, writes = 200, (403, 201)  # only a recipient's caseworker accepts
    else:
        expected = {n for n, c in FIELD_CATEGORY.items() if c in categories} | {"note:recipient"}
        if "narrative" in categories:
            expected.add("note:referrer")
        detail, writes = 200, (200, 201)
        assert [r["id"] for r in responses["list"].json()["results"]] == [str(referral.id)]
    assert responses["detail"].status_code == detail
    assert (responses["transition"].status_code, responses["add_note"].status_code) == writes
    # survivor profiles are the owner agency's liaisons' alone
    owner_liaison = relation == "referrer" and role == "liaison"
    assert responses["survivor"].status_code == (
        200 if owner_liaison else 403 if role != "liaison" else 404
    )
    assert seen == expected


def test_referrer_sees_status_beyond_requested_only_with_status_updates(members, agencies):
    survivor, referral = create_case(members, agencies)
    ConsentFactory(survivor=survivor, categories=["identity"], recipients=[agencies["shelter"]])
    ConsentFactory(
        survivor=survivor, categories=["identity", "status_updates"], recipients=[agencies["legal"]]
    )
    services.consent_expire_due()  # no-op: both active

    sync_statuses(survivor)
    client_for(members["caseworker"]).post(
        f"/api/v1/referrals/{referral.id}/transitions/", {"action": "accept"}, format="json"
    )
    client_for(members["legal_caseworker"]).post(
        f"/api/v1/referrals/{referral.id}/transitions/", {"action": "accept"}, format="json"
    )
    body = client_for(members["liaison"]).get(f"/api/v1/referrals/{referral.id}/").json()
    seen = {row["agency"]: row["status"] for row in body["recipients"]}
    assert seen == {agencies["shelter"].id: "requested", agencies["legal"].id: "accepted"}


def test_recipient_does_not_learn_who_else_was_asked(members, agencies):
    survivor, referral = create_case(members, agencies)
    ConsentFactory(
        survivor=survivor,
        categories=["identity"],
        recipients=[agencies["shelter"], agencies["legal"]],
    )
    sync_statuses(survivor)
    body = client_for(members["caseworker"]).get(f"/api/v1/referrals/{referral.id}/").json()
    assert [row["agency"] for row in body["recipients"]] == [agencies["shelter"].id]
    assert body["recipients"][0]["status"] == "received"  # first read


def _consent_body(survivor, agencies, **overrides):
    body = {
        "survivor": str(survivor.id),
        "recipients": [agencies["shelter"].id],
        "categories": ["identity", "status_updates"],
        "method": "verbal_witnessed",
        "evidence_sha256": "0f" * 32,
        "language": "es",
        "interpreter_used": True,
        "notice_version": "2026-01",
        "services_not_conditional": True,
        "signed_by": "survivor",
        "expires_at": (timezone.now() + 30 * DAY).isoformat(),
    }
    body.update(overrides)
    return body


def test_whole_workflow_over_http(members, agencies):
    survivor, referral = create_case(members, agencies)
    liaison, worker = client_for(members["liaison"]), client_for(members["caseworker"])
    assert worker.get(f"/api/v1/referrals/{referral.id}/").status_code == 404
    consent = liaison.post("/api/v1/consents/", _consent_body(survivor, agencies), format="json")
    assert consent.status_code == 201, consent.json()
    detail = worker.get(f"/api/v1/referrals/{referral.id}/")
    assert detail.status_code == 200
    assert detail.json()["survivor"]["given_name"] == CANARIES["given_name"]
    assert "phone" not in detail.json()["survivor"]
    assert "narrative" not in detail.json()
    etag = detail["ETag"]
    accepted = worker.post(
        f"/api/v1/referrals/{referral.id}/transitions/",
        {"action": "accept"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert accepted.status_code == 200, accepted.json()
    stale = worker.post(
        f"/api/v1/referrals/{referral.id}/transitions/",
        {"action": "start"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    illegal = worker.post(
        f"/api/v1/referrals/{referral.id}/transitions/",
        {"action": "complete", "outcome": "x"},
        format="json",
    )
    assert illegal.status_code == 409
    assert illegal.json()["code"] == "illegal_transition"
    assert "accepted" in illegal.json()["detail"]
    revoke = liaison.post(
        f"/api/v1/consents/{consent.json()['id']}/revoke/",
        {"reason": "survivor asked", "channel": "oral"},
        format="json",
    )
    assert revoke.status_code == 200
    assert revoke.json()["revoked_at"]
    assert worker.get(f"/api/v1/referrals/{referral.id}/").status_code == 404
    assert worker.get("/api/v1/referrals/").json()["results"] == []


def test_idempotency_key_replays_and_refuses_a_different_body(members, agencies):
    liaison = client_for(members["liaison"])
    body = {"given_name": "canary-idem"}
    first = liaison.post("/api/v1/survivors/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = liaison.post("/api/v1/survivors/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Survivor.objects.count() == 1
    replay = AuditEntry.objects.order_by("-seq").first()
    assert (replay.action, replay.object_type) == ("view", "idempotent_replay")
    other = liaison.post(
        "/api/v1/survivors/", {"given_name": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Survivor.objects.count() == 1
    # another user's identical key is theirs alone
    client_for(members["liaison"]).post(
        "/api/v1/survivors/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert Survivor.objects.count() == 2


def test_failed_request_does_not_burn_the_idempotency_key(members):
    liaison = client_for(members["liaison"])
    bad = liaison.post(
        "/api/v1/survivors/", {"phone": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9"
    )
    assert bad.status_code == 400
    good = liaison.post(
        "/api/v1/survivors/", {"given_name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-9"
    )
    assert good.status_code == 201


def test_survivor_patch_honours_if_match(members):
    liaison = client_for(members["liaison"])
    created = liaison.post("/api/v1/survivors/", {"given_name": "a"}, format="json")
    url = f"/api/v1/survivors/{created.json()['id']}/"
    etag = liaison.get(url)["ETag"]
    assert liaison.patch(url, {"phone": "1"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    stale = liaison.patch(url, {"phone": "2"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/referrals/",
            {"survivor": "not-a-uuid", "recipients": [1], "needs": ["shelter"], "urgency": "high"},
            "survivor",
        ),
        (
            "/api/v1/referrals/",
            {
                "survivor": "00000000-0000-0000-0000-000000000000",
                "recipients": [1],
                "needs": ["shelter"],
                "urgency": "high",
            },
            "survivor",
        ),
        (
            "/api/v1/referrals/",
            {"survivor": "$S", "recipients": [], "needs": ["shelter"], "urgency": "high"},
            "recipients",
        ),
        (
            "/api/v1/referrals/",
            {"survivor": "$S", "recipients": ["$OWN"], "needs": ["shelter"], "urgency": "high"},
            "recipients",
        ),
        (
            "/api/v1/referrals/",
            {"survivor": "$S", "recipients": [99999], "needs": ["shelter"], "urgency": "high"},
            "recipients",
        ),
        (
            "/api/v1/referrals/",
            {"survivor": "$S", "recipients": ["$SHELTER"], "needs": ["yacht"], "urgency": "high"},
            "needs",
        ),
        (
            "/api/v1/referrals/",
            {
                "survivor": "$S",
                "recipients": ["$SHELTER"],
                "needs": ["shelter"],
                "urgency": "high",
                "narrative": "x" * 20001,
            },
            "narrative",
        ),
        (
            "/api/v1/referrals/",
            {"survivor": "$S", "recipients": ["$SHELTER"], "needs": [], "urgency": "high"},
            "needs",
        ),
        (
            "/api/v1/referrals/",
            {"survivor": "$S", "recipients": ["$SHELTER"], "needs": ["legal"], "urgency": "soon"},
            "urgency",
        ),
        (
            "/api/v1/referrals/",
            {
                "survivor": "$S",
                "recipients": ["$SHELTER"],
                "needs": ["legal"],
                "urgency": "high",
                "region": "r" * 101,
            },
            "region",
        ),
        ("/api/v1/consents/", {"expires_at": "next tuesday"}, "expires_at"),
        ("/api/v1/consents/", {"expires_at": "$ABSENT"}, "expires_at"),
        ("/api/v1/consents/", {"expires_at": None}, "expires_at"),
        ("/api/v1/consents/", {"services_not_conditional": False}, "services_not_conditional"),
        ("/api/v1/consents/", {"categories": []}, "categories"),
        ("/api/v1/consents/", {"categories": ["identity", "bank_details"]}, "categories"),
        ("/api/v1/consents/", {"method": "telepathy"}, "method"),
        ("/api/v1/consents/", {"evidence_sha256": "nothex"}, "evidence_sha256"),
        ("/api/v1/consents/", {"evidence_sha256": "AB" * 32}, "evidence_sha256"),
        ("/api/v1/consents/", {"language": " "}, "language"),
        ("/api/v1/consents/", {"notice_version": ""}, "notice_version"),
        ("/api/v1/consents/", {"signed_by": "trafficker"}, "signed_by"),
        ("/api/v1/survivors/", {"given_name": "a", "date_of_birth": "1990-13-45"}, "date_of_birth"),
        ("/api/v1/survivors/", {"given_name": "a", "date_of_birth": "31/12/1990"}, "date_of_birth"),
        ("/api/v1/survivors/", {"given_name": "a", "date_of_birth": "1850-01-01"}, "date_of_birth"),
        ("/api/v1/survivors/", {"given_name": "a", "date_of_birth": "2999-01-01"}, "date_of_birth"),
        ("/api/v1/survivors/", {"given_name": "a" * 201}, "given_name"),
        ("/api/v1/survivors/", {"given_name": "a", "phone": "1" * 65}, "phone"),
        ("/api/v1/survivors/", {"given_name": "a", "ssn": "1"}, "ssn"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    path, body, field, members, agencies
):
    liaison = client_for(members["liaison"])
    survivor = consent_services.survivor_create(actor=members["liaison"], data={"given_name": "s"})
    if path == "/api/v1/consents/":
        body = _consent_body(survivor, agencies, **body)
    swap = {
        "$S": str(survivor.id),
        "$OWN": agencies["police"].id,
        "$SHELTER": agencies["shelter"].id,
    }
    body = {
        k: ([swap.get(x, x) for x in v] if isinstance(v, list) else swap.get(v, v))
        for k, v in body.items()
        if v != "$ABSENT"
    }
    counts = (Survivor.objects.count(), Referral.objects.count(), Consent.objects.count())
    response = liaison.post(path, body, format="json")
    assert 400 <= response.status_code < 500
    assert field in response.json()["fields"]
    assert (Survivor.objects.count(), Referral.objects.count(), Consent.objects.count()) == counts


def test_consent_for_another_agencys_survivor_is_refused(members, agencies):
    other_liaison = MemberFactory(agency=agencies["legal"], role="liaison")
    survivor = consent_services.survivor_create(actor=members["liaison"], data={"given_name": "s"})
    response = client_for(other_liaison).post(
        "/api/v1/consents/",
        _consent_body(survivor, agencies, recipients=[agencies["shelter"].id]),
        format="json",
    )
    assert response.status_code == 404


@pytest.mark.parametrize("viewer", ["liaison", "caseworker"])
def test_a_referral_page_of_50_costs_the_queries_of_a_page_of_5(viewer, members, agencies):
    survivor = consent_services.survivor_create(actor=members["liaison"], data={"given_name": "s"})
    ConsentFactory(
        survivor=survivor,
        categories=["identity", "status_updates"],
        recipients=[agencies["shelter"]],
    )
    for _ in range(50):
        services.referral_create(
            actor=members["liaison"],
            survivor_id=survivor.id,
            recipients=[agencies["shelter"].id, agencies["legal"].id],
            needs=["shelter"],
            urgency="routine",
        )
    client = client_for(members[viewer])
    client.get("/api/v1/referrals/?page_size=1")  # warm per-process caches first
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/referrals/?page_size={size}")
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
    assert counts[5] == counts[50]


def test_filters_and_cursor_pagination(members, agencies):
    survivor = consent_services.survivor_create(actor=members["liaison"], data={"given_name": "s"})
    for urgency in ("high", "routine", "routine"):
        services.referral_create(
            actor=members["liaison"],
            survivor_id=survivor.id,
            recipients=[agencies["shelter"].id],
            needs=["shelter", "legal"] if urgency == "high" else ["medical"],
            urgency=urgency,
        )
    liaison = client_for(members["liaison"])
    assert len(liaison.get("/api/v1/referrals/?urgency=routine").json()["results"]) == 2
    assert len(liaison.get("/api/v1/referrals/?need=legal").json()["results"]) == 1
    assert len(liaison.get("/api/v1/referrals/?direction=incoming").json()["results"]) == 0
    assert len(liaison.get("/api/v1/referrals/?status=awaiting_consent").json()["results"]) == 3
    assert liaison.get("/api/v1/referrals/?status=accepted&direction=outgoing").status_code == 400
    assert liaison.get("/api/v1/referrals/?need=yacht").status_code == 400
    first = liaison.get("/api/v1/referrals/?page_size=2").json()
    second = liaison.get(first["next"]).json()
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 3


def test_consent_list_filters_by_survivor_and_refuses_a_malformed_id(members, agencies):
    liaison = client_for(members["liaison"])
    survivor = consent_services.survivor_create(actor=members["liaison"], data={"given_name": "s"})
    other = consent_services.survivor_create(actor=members["liaison"], data={"given_name": "t"})
    liaison.post("/api/v1/consents/", _consent_body(survivor, agencies), format="json")
    liaison.post("/api/v1/consents/", _consent_body(other, agencies), format="json")
    listed = liaison.get(f"/api/v1/consents/?survivor={survivor.id}").json()["results"]
    assert [c["survivor"] for c in listed] == [str(survivor.id)]
    bad = liaison.get("/api/v1/consents/?survivor=nope")
    assert bad.status_code == 400
    assert "survivor" in bad.json()["fields"]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("revoke", {"reason": " ", "channel": "oral"}, "reason"),
        ("revoke", {"reason": "x" * 2001, "channel": "oral"}, "reason"),
        ("revoke", {"reason": "asked", "channel": "carrier pigeon"}, "channel"),
        ("transition", {"action": "receive"}, "action"),
        ("transition", {"action": "teleport"}, "action"),
        ("transition", {"action": "reject", "reason": "x" * 2001}, "reason"),
        ("note", {"text": "  "}, "text"),
        ("note", {"text": "x" * 2001}, "text"),
    ],
)
def test_bad_input_to_an_action_is_a_400_naming_the_field_and_changes_nothing(
    action, body, field, members, agencies
):
    survivor, referral = create_case(members, agencies)
    consent = ConsentFactory(
        survivor=survivor, categories=["identity"], recipients=[agencies["shelter"]]
    )
    sync_statuses(survivor)
    client, path = {
        "revoke": (members["liaison"], f"/api/v1/consents/{consent.pk}/revoke/"),
        "transition": (members["caseworker"], f"/api/v1/referrals/{referral.id}/transitions/"),
        "note": (members["caseworker"], f"/api/v1/referrals/{referral.id}/notes/"),
    }[action]
    before = AuditEntry.objects.count()
    response = client_for(client).post(path, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not ConsentRevocation.objects.exists()
    assert not referral.notes.exists()
    assert set(referral.recipients.values_list("status", flat=True)) == {
        "requested",
        "awaiting_consent",
    }
    assert AuditEntry.objects.count() == before


def test_a_patch_leaving_no_name_is_refused_by_the_service(members):
    liaison = client_for(members["liaison"])
    created = liaison.post("/api/v1/survivors/", {"given_name": "a"}, format="json").json()
    response = liaison.patch(
        f"/api/v1/survivors/{created['id']}/", {"given_name": ""}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "given_name": ["Give at least one name (given or family)."]
    }
