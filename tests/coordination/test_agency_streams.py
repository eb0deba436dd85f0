"""Each agency's events form its own stream: its numbers count only events it may see,
so neither ``seq`` nor ``last_seq`` reveals a change hidden from it."""

from __future__ import annotations

import contextlib
import importlib
from unittest import mock

import pytest
from django.apps import apps
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from agencies.errors import DomainError
from coordination import event_stream, outbox, services
from coordination.models import Event, StreamCounter, StreamEntry
from tests.conftest import client_for
from tests.coordination import live_helpers as h
from tests.coordination.test_events_api import CONSENT_STATES, play, stream

pytestmark = pytest.mark.django_db

AGENCY_OF = {"liaison": "police", "caseworker": "shelter", "legal_caseworker": "legal"}
VIEWERS = [*AGENCY_OF, "outsider"]


def read_all(member, after=0) -> dict:
    body = stream(member, after).json()
    while True:
        more = stream(member, body["last_seq"]).json()
        if more["last_seq"] == body["last_seq"]:
            return body
        body = {"results": body["results"] + more["results"], "last_seq": more["last_seq"]}


def test_a_masked_change_leaves_the_referrers_numbers_contiguous(members, agencies):
    liaison, shelter = members["liaison"], members["caseworker"]
    survivor = h.make_survivor(liaison)
    services.consent_record(
        actor=liaison,
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "shelter", categories=("identity",)),  # no status_updates
    )
    referral = h.make_referral(liaison, survivor, [agencies["shelter"]])
    first = stream(liaison).json()
    assert [(e["seq"], e["status"]) for e in first["results"]] == [(1, "requested")]
    assert first["last_seq"] == 1

    for action in ("accept", "start"):  # masked for the referrer
        services.referral_transition(actor=shelter, referral_id=referral.id, action=action)
    assert stream(liaison, 1).json() == {"results": [], "last_seq": 1}
    assert event_stream.head_seq(liaison.agency_id) == 1

    services.referral_transition(
        actor=liaison, referral_id=referral.id, action="cancel", reason="canary-reason"
    )
    (cancelled,) = stream(liaison, 1).json()["results"]
    assert (cancelled["seq"], cancelled["status"]) == (2, "cancelled")
    # The shelter numbers its own stream: requested, accepted, in_progress, cancelled.
    assert [e["seq"] for e in stream(shelter).json()["results"]] == [1, 2, 3, 4]
    assert stream(members["outsider"]).json() == {"results": [], "last_seq": 0}


@pytest.mark.parametrize("shelter_consent", CONSENT_STATES)
def test_every_number_an_agency_holds_is_an_event_it_was_shown(members, agencies, shelter_consent):
    """Whatever the consent, each agency's stream counts exactly the events it is
    shown. The one exception is news it was entitled to when it happened and may no
    longer see: after a revocation the shelter keeps only ``consent.revoked``, and the
    referrer no longer replays the status updates that consent let it see."""
    play(members, agencies, shelter_consent)
    for name in VIEWERS:
        member = members[name]
        body = read_all(member)
        head = event_stream.head_seq(member.agency_id)
        numbers = [e["seq"] for e in body["results"]]
        assert body["last_seq"] == head, name
        if shelter_consent == "revoked" and name in ("caseworker", "liaison"):
            assert numbers == sorted(set(numbers)), name
            assert numbers[-1] == head, name
            if name == "caseworker":
                assert [e["kind"] for e in body["results"]] == ["consent.revoked"]
            continue
        assert numbers == list(range(1, head + 1)), (name, numbers)
    assert event_stream.head_seq(members["outsider"].agency_id) == 0


class StreamHistory(RuleBasedStateMachine):
    """Random consents, revocations, moves and notes. After every step each agency
    reads what its stream grew by: every new number is an event it is shown now."""

    def __init__(self, members, agencies):
        super().__init__()
        self.members, self.agencies = members, agencies
        liaison = members["liaison"]
        self.survivor = h.make_survivor(liaison)
        self.consents = []
        self.referral = h.make_referral(
            liaison, self.survivor, [agencies["shelter"], agencies["legal"]]
        )
        self.heads = {name: self.head(name) for name in VIEWERS}
        self.heads_checked = dict(self.heads)

    def head(self, name) -> int:
        return event_stream.head_seq(self.members[name].agency_id)

    @rule(
        recipients=st.sets(st.sampled_from(["shelter", "legal"]), min_size=1),
        categories=st.sets(
            st.sampled_from(["contact", "narrative", "status_updates", "case_notes"])
        ),
    )
    def record(self, recipients, categories):
        consent = services.consent_record(
            actor=self.members["liaison"],
            survivor_id=self.survivor.id,
            **h.consent_fields(
                self.agencies, *sorted(recipients), categories=("identity", *sorted(categories))
            ),
        )
        self.consents.append(consent.id)

    @rule(data=st.data())
    def revoke(self, data):
        if self.consents:
            consent_id = self.consents.pop(data.draw(st.integers(0, len(self.consents) - 1)))
            services.consent_revoke(
                actor=self.members["liaison"], consent_id=consent_id, reason="r", channel="oral"
            )

    @rule(
        who=st.sampled_from(["caseworker", "legal_caseworker"]),
        action=st.sampled_from(["accept", "reject", "start", "hold", "complete"]),
    )
    def caseworker_acts(self, who, action):
        with contextlib.suppress(DomainError):
            services.referral_transition(
                actor=self.members[who],
                referral_id=self.referral.id,
                action=action,
                reason="r",
                outcome="o",
            )

    @rule(who=st.sampled_from(["liaison", "caseworker", "legal_caseworker"]))
    def note(self, who):
        with contextlib.suppress(DomainError):
            services.note_add(actor=self.members[who], referral_id=self.referral.id, text="n")

    @invariant()
    def each_stream_grew_only_by_events_the_agency_is_shown(self):
        for name in VIEWERS:
            before, head = self.heads[name], self.head(name)
            body = stream(self.members[name], before).json()
            assert body["last_seq"] == head
            assert [e["seq"] for e in body["results"]] == list(range(before + 1, head + 1))
            self.heads[name] = head
        assert self.heads["outsider"] == 0


def test_stream_numbers_never_reveal_a_hidden_event_over_random_histories(members, agencies):
    run_state_machine_as_test(
        lambda: StreamHistory(members, agencies),
        settings=settings(
            max_examples=15,
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


def test_events_written_before_agency_streams_resume_from_their_old_seq(members, agencies):
    """The backfill migration keeps old network seqs in every agency's stream and starts
    each counter at the network head: a client resuming with an old seq loses nothing
    and sees nothing twice; new events number on from there."""
    play(members, agencies, "everything")
    liaison = members["liaison"]

    def what(events):
        return [(e["kind"], e["referral"], e["agency"], e.get("status")) for e in events]

    shown = what(read_all(liaison)["results"])
    # As before the migration: the outbox alone, no streams.
    StreamEntry.objects.all().delete()
    StreamCounter.objects.all().delete()
    backfill = importlib.import_module("coordination.migrations.0006_agency_streams_backfill")
    backfill.backfill(apps, None)

    network_head = Event.objects.order_by("-seq").first().seq
    for agency in agencies.values():
        assert event_stream.head_seq(agency.id) == network_head
    assert all(seq == event for seq, event in StreamEntry.objects.values_list("seq", "event"))
    everything = read_all(liaison)["results"]
    assert what(everything) == shown
    old = everything[len(everything) // 2]["seq"]
    assert read_all(liaison, old)["results"] == [e for e in everything if e["seq"] > old]

    services.note_add(actor=liaison, referral_id=Event.objects.first().referral_id, text="n")
    (new,) = stream(liaison, network_head).json()["results"]
    assert new["seq"] == network_head + 1
    assert client_for(members["outsider"]).get("/api/v1/events/").json()["results"] == []


def test_the_nudge_names_only_the_agencies_whose_streams_grew(
    members, agencies, django_capture_on_commit_callbacks
):
    liaison, shelter = members["liaison"], members["caseworker"]
    survivor = h.make_survivor(liaison)
    services.consent_record(
        actor=liaison,
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "shelter", categories=("identity",)),
    )
    referral = h.make_referral(liaison, survivor, [agencies["shelter"], agencies["legal"]])
    with (
        mock.patch.object(outbox, "publish") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.referral_transition(actor=shelter, referral_id=referral.id, action="accept")
    # Masked for the referrer, nothing to legal aid: only the shelter's stream grew.
    publish.assert_called_once_with({agencies["shelter"].id: 2})
    (entry,) = StreamEntry.objects.filter(event__kind="referral.accepted")
    assert (entry.agency_id, entry.seq) == (agencies["shelter"].id, 2)
