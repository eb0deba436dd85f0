"""Services: each state change writes its change, audit entry and outbox event together."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from audit.models import AuditEntry
from consent import services as consent_services
from consent.models import Consent, Survivor
from coordination import access as policy
from coordination import services, states
from coordination.models import Event, RecipientStatus, Referral, StatusChange, StreamEntry

pytestmark = pytest.mark.django_db


def consent_fields(agencies, **overrides):
    fields = {
        "recipients": [agencies["shelter"].id],
        "categories": ["identity", "contact", "status_updates"],
        "method": "written",
        "evidence_sha256": "ab" * 32,
        "language": "es",
        "interpreter_used": True,
        "notice_version": "2026-01",
        "services_not_conditional": True,
        "signed_by": "survivor",
        "expires_at": timezone.now() + timedelta(days=90),
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def survivor(members):
    return consent_services.survivor_create(
        actor=members["liaison"],
        data={"given_name": "canary-given", "phone": "canary-phone", "date_of_birth": "1990-04-01"},
    )


@pytest.fixture
def referral(members, agencies, survivor):
    return services.referral_create(
        actor=members["liaison"],
        survivor_id=survivor.id,
        recipients=[agencies["shelter"].id, agencies["legal"].id],
        needs=["shelter", "legal"],
        urgency="high",
        narrative="canary-narrative",
    )


def statuses(referral):
    return dict(
        RecipientStatus.objects.filter(referral=referral).values_list("agency__slug", "status")
    )


def test_referral_waits_for_consent_then_consent_releases_only_named_recipients(
    members, agencies, survivor, referral, django_capture_on_commit_callbacks
):
    assert statuses(referral) == {"shelter": "awaiting_consent", "legal": "awaiting_consent"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.consent_record(
            actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
        )
    assert statuses(referral) == {"shelter": "requested", "legal": "awaiting_consent"}
    event = Event.objects.get()
    assert (event.kind, event.status, event.agency_id) == (
        "referral.requested",
        "requested",
        agencies["shelter"].id,
    )
    assert event.survivor_ref == survivor.ref
    assert len(callbacks) == 1  # the nudge is published after commit
    assert AuditEntry.objects.filter(action="consent_record").count() == 1


def test_consent_before_referral_releases_at_creation(members, agencies, survivor):
    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
    )
    referral = services.referral_create(
        actor=members["liaison"],
        survivor_id=survivor.id,
        recipients=[agencies["shelter"].id],
        needs=["shelter"],
        urgency="routine",
    )
    assert statuses(referral) == {"shelter": "requested"}


def test_revocation_cuts_access_and_moves_status(members, agencies, survivor, referral):
    consent = services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
    )
    services.referral_transition(
        actor=members["caseworker"], referral_id=referral.id, action="accept"
    )
    services.consent_revoke(
        actor=members["liaison"], consent_id=consent.id, reason="asked by phone", channel="oral"
    )
    assert statuses(referral)["shelter"] == "consent_revoked"
    assert not policy.release(agencies["shelter"].id, referral).visible
    assert Event.objects.order_by("-seq").first().kind == "consent.revoked"
    with pytest.raises(NotFound):
        services.referral_transition(
            actor=members["caseworker"], referral_id=referral.id, action="start"
        )


def test_revoking_twice_is_a_conflict(members, agencies, survivor):
    consent = services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
    )
    services.consent_revoke(
        actor=members["liaison"], consent_id=consent.id, reason="r", channel="written"
    )
    with pytest.raises(Conflict):
        services.consent_revoke(
            actor=members["liaison"], consent_id=consent.id, reason="r", channel="written"
        )


@pytest.mark.parametrize(
    ("override", "field"),
    [
        # What one element must be on its own is the faces' (tests/coordination/
        # test_api.py); these need the clock, the stored agencies or several elements.
        ({"expires_at": timezone.now() + timedelta(days=400)}, "expires_at"),
        ({"expires_at": timezone.now() - timedelta(days=1)}, "expires_at"),
        ({"recipients": []}, "recipients"),
        ({"recipients": [999999]}, "recipients"),
        ({"valid_from": timezone.now() - timedelta(days=3)}, "valid_from"),
        ({"signed_by": "survivor_and_guardian"}, "guardian_not_alleged_trafficker"),
    ],
)
def test_invalid_consent_names_the_field_and_writes_nothing(
    override, field, members, agencies, survivor, referral
):
    entries = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as raised:
        services.consent_record(
            actor=members["liaison"],
            survivor_id=survivor.id,
            **consent_fields(agencies, **override),
        )
    assert field in raised.value.fields
    assert Consent.objects.count() == 0
    assert AuditEntry.objects.count() == entries
    assert statuses(referral)["shelter"] == "awaiting_consent"


def test_a_minor_needs_a_guardian_signature(members, agencies):
    minor = consent_services.survivor_create(
        actor=members["liaison"],
        data={
            "given_name": "canary-minor",
            "date_of_birth": (timezone.now() - timedelta(days=365 * 15)).date().isoformat(),
        },
    )
    with pytest.raises(InvalidInput) as raised:
        services.consent_record(
            actor=members["liaison"], survivor_id=minor.id, **consent_fields(agencies)
        )
    assert "signed_by" in raised.value.fields
    consent = services.consent_record(
        actor=members["liaison"],
        survivor_id=minor.id,
        **consent_fields(
            agencies, signed_by="survivor_and_guardian", guardian_not_alleged_trafficker=True
        ),
    )
    assert consent.signed_by == "survivor_and_guardian"


@pytest.mark.parametrize("who", ["caseworker", "admin", "outsider", "compliance"])
def test_only_the_owner_agency_liaison_records_consent(who, members, agencies, survivor):
    with pytest.raises((NotFound, Forbidden)):
        services.consent_record(
            actor=members[who], survivor_id=survivor.id, **consent_fields(agencies)
        )
    assert Consent.objects.count() == 0


def test_caseworker_walks_the_happy_path_and_illegal_moves_are_refused(
    members, agencies, survivor, referral
):
    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
    )
    worker = members["caseworker"]
    with pytest.raises(states.IllegalTransition):
        services.referral_transition(
            actor=worker, referral_id=referral.id, action="complete", outcome="x"
        )
    for action, extra in [
        ("accept", {}),
        ("start", {}),
        ("hold", {"reason": "waiting for bed"}),
        ("start", {}),
        ("complete", {"outcome": "housed"}),
    ]:
        services.referral_transition(actor=worker, referral_id=referral.id, action=action, **extra)
    assert statuses(referral)["shelter"] == "completed"
    history = list(
        StatusChange.objects.filter(recipient_status__agency=agencies["shelter"]).values_list(
            "action", flat=True
        )
    )
    assert history == ["release", "accept", "start", "hold", "start", "complete"]
    with pytest.raises(states.IllegalTransition):
        services.referral_transition(actor=worker, referral_id=referral.id, action="start")


def test_reason_is_required_where_the_table_says(members, agencies, survivor, referral):
    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
    )
    with pytest.raises(InvalidInput) as raised:
        services.referral_transition(
            actor=members["caseworker"], referral_id=referral.id, action="reject"
        )
    assert "reason" in raised.value.fields


def test_recipient_without_consent_cannot_act_and_learns_nothing(members, agencies, referral):
    with pytest.raises(NotFound):
        services.referral_transition(
            actor=members["legal_caseworker"], referral_id=referral.id, action="accept"
        )
    with pytest.raises(NotFound):
        services.referral_transition(
            actor=members["outsider"], referral_id=referral.id, action="accept"
        )


def test_referrer_cancels_every_open_recipient(members, agencies, survivor, referral):
    referral, _ = services.referral_transition(
        actor=members["liaison"], referral_id=referral.id, action="cancel", reason="survivor moved"
    )
    assert {r.status for r in referral.recipients.all()} == {"cancelled"}
    assert set(statuses(referral).values()) == {"cancelled"}


def test_stale_if_match_fails(members, agencies, survivor, referral):
    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
    )
    with pytest.raises(PreconditionFailed):
        services.referral_transition(
            actor=members["caseworker"], referral_id=referral.id, action="accept", if_match=1
        )


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"recipients": []}, "recipients"),
        ({"recipients": ["own"]}, "recipients"),
        ({"recipients": [987654]}, "recipients"),
        ({"recipients": ["closed"]}, "recipients"),
        # needs, urgency and lengths are the faces' (tests/coordination/test_api.py)
    ],
)
def test_invalid_referral_names_the_field_and_writes_nothing(
    override, field, members, agencies, survivor
):
    args = {"recipients": [agencies["shelter"].id], "needs": ["shelter"], "urgency": "routine"}
    args.update(override)
    if args["recipients"] == ["own"]:
        args["recipients"] = [agencies["police"].id]
    if args["recipients"] == ["closed"]:
        agencies["legal"].accepting_referrals = False
        agencies["legal"].save()
        args["recipients"] = [agencies["shelter"].id, agencies["legal"].id]
    with pytest.raises(InvalidInput) as raised:
        services.referral_create(actor=members["liaison"], survivor_id=survivor.id, **args)
    assert field in raised.value.fields
    assert Referral.objects.count() == 0


def test_expired_consent_is_applied_as_state_changes(
    members, agencies, survivor, referral, time_machine
):
    services.consent_record(
        actor=members["liaison"],
        survivor_id=survivor.id,
        **consent_fields(agencies, expires_at=timezone.now() + timedelta(days=2)),
    )
    time_machine.move_to(timezone.now() + timedelta(days=3))
    assert services.consent_expire_due() == 1
    assert statuses(referral)["shelter"] == "consent_revoked"
    assert services.consent_expire_due() == 0


def test_stream_numbers_are_gap_free_and_events_carry_no_pii(members, agencies, survivor, referral):
    services.consent_record(
        actor=members["liaison"], survivor_id=survivor.id, **consent_fields(agencies)
    )
    services.referral_transition(
        actor=members["caseworker"], referral_id=referral.id, action="accept"
    )
    services.note_add(actor=members["caseworker"], referral_id=referral.id, text="canary-note")
    rows = list(Event.objects.order_by("seq").values())
    # The outbox's own numbers only order it (PostgreSQL may skip some after a rollback);
    # what a client is shown, each agency's stream, numbers on without a gap.
    streams = {}
    for agency_id, seq in StreamEntry.objects.order_by("agency_id", "seq").values_list(
        "agency_id", "seq"
    ):
        streams.setdefault(agency_id, []).append(seq)
    assert streams
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in streams.values())
    assert "canary" not in repr(rows)
    assert "canary" not in repr(list(AuditEntry.objects.values()))


def test_a_survivor_needs_a_name_and_a_liaison(members):
    # The date format is the faces' (test_api.py: test_bad_input_is_a_4xx_naming_...).
    with pytest.raises(InvalidInput) as raised:
        consent_services.survivor_create(actor=members["liaison"], data={"phone": "1"})
    assert "given_name" in raised.value.fields
    with pytest.raises(Forbidden):
        consent_services.survivor_create(actor=members["caseworker"], data={"given_name": "a"})
    assert Survivor.objects.count() == 0


def test_expire_consents_command_reports_moves(members, agencies, survivor, referral, time_machine):
    from io import StringIO

    from django.core.management import call_command

    services.consent_record(
        actor=members["liaison"],
        survivor_id=survivor.id,
        **consent_fields(agencies, expires_at=timezone.now() + timedelta(days=1)),
    )
    time_machine.move_to(timezone.now() + timedelta(days=2))
    out = StringIO()
    call_command("expire_consents", stdout=out)
    assert out.getvalue().startswith("1 recipient")
