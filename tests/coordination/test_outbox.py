"""The outbox's write side: who hears of an event when the acting member's decision
answers for their own agency, and how each stream numbers its entries."""

from __future__ import annotations

import pytest

from agencies.errors import NotFound
from agencies.models import Role
from coordination import event_stream, outbox, selectors, services
from coordination.models import Event, StreamCounter, StreamEntry
from tests.coordination import live_helpers as h
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

CATEGORY_SETS = [
    (),
    ("narrative",),
    ("status_updates",),
    ("case_notes",),
    ("narrative", "status_updates", "case_notes"),
]
STATUSES = ["received", "accepted", "in_progress", "cancelled", "consent_revoked"]


def _events(referral, agencies) -> list[Event]:
    """Every kind of event the referral's agencies could be told of."""
    referrer, recipients = agencies["police"].id, [agencies["shelter"].id, agencies["legal"].id]
    events = [Event(kind=Event.NOTE_ADDED, referral=referral, agency_id=referrer)]
    for agency_id in recipients:
        events += [
            Event(kind=Event.kind_for_status(s), referral=referral, agency_id=agency_id, status=s)
            for s in STATUSES
        ]
        events += [
            Event(kind=Event.NOTE_ADDED, referral=referral, agency_id=agency_id),
            Event(kind=Event.EMERGENCY_OPENED, referral=referral, agency_id=agency_id),
        ]
    return events


@pytest.mark.parametrize("categories", CATEGORY_SETS)
@pytest.mark.parametrize("colleague_in_emergency", [False, True])
@pytest.mark.parametrize("legal_categories", [None, ("identity", "status_updates")])
def test_the_actors_own_decision_hears_exactly_as_asking_the_rule_again(
    members, agencies, categories, colleague_in_emergency, legal_categories
):
    """For every actor who may act on the referral and every event: the hearers the
    outbox finds with the actor's decision (its answer for the actor's agency, its facts
    for the others) are those it finds asking the rule afresh for each agency. A
    colleague's emergency access opens more to the agency than to the actor (their
    decision's "no" is then not the agency's); a second recipient's consent puts other
    agencies' grants in the same facts."""
    liaison = members["liaison"]
    survivor = h.make_survivor(liaison)
    services.consent_record(
        actor=liaison,
        survivor_id=survivor.id,
        **h.consent_fields(agencies, "shelter", categories=("identity", *categories)),
    )
    if legal_categories is not None:
        services.consent_record(
            actor=liaison,
            survivor_id=survivor.id,
            **h.consent_fields(agencies, "legal", categories=legal_categories),
        )
    referral = h.make_referral(liaison, survivor, [agencies["shelter"], agencies["legal"]])
    if colleague_in_emergency:
        colleague = MemberFactory(agency=agencies["shelter"], role=Role.CASEWORKER)
        services.emergency_access_open(
            actor=colleague,
            referral_id=referral.id,
            reason_code="imminent_danger",
            justification="canary-justification",
            categories=["narrative", "contact"],
        )
    compared = 0
    for name in ("liaison", "caseworker", "legal_caseworker", "outsider"):
        try:
            fetched, decision = selectors.referral_visible(members[name], referral.id)
        except NotFound:
            # no consent names them
            assert name == "outsider" or (name == "legal_caseworker" and not legal_categories)
            continue
        for event in _events(fetched, agencies):
            assert outbox._hearers(event, decision) == outbox._hearers(event, None), (
                name,
                event.kind,
                event.agency_id,
            )
            compared += 1
    assert compared == (3 if legal_categories else 2) * len(_events(referral, agencies))


def test_a_stream_numbers_on_from_its_head(members, agencies):
    """A stream continues after its head, wherever that stands (a counter ahead of the
    entries: the streams' backfill started every counter at the network head)."""
    liaison, shelter = members["liaison"], members["caseworker"]
    survivor = h.make_survivor(liaison)
    services.consent_record(
        actor=liaison, survivor_id=survivor.id, **h.consent_fields(agencies, "shelter")
    )
    referral = h.make_referral(liaison, survivor, [agencies["shelter"]])
    assert event_stream.head_seq(shelter.agency_id) == 1  # requested
    StreamCounter.objects.update_or_create(agency_id=shelter.agency_id, defaults={"seq": 41})
    assert event_stream.head_seq(shelter.agency_id) == 41
    for action in ("accept", "start"):
        services.referral_transition(actor=shelter, referral_id=referral.id, action=action)
    numbers = StreamEntry.objects.filter(agency_id=shelter.agency_id).values_list("seq", flat=True)
    assert list(numbers.order_by("seq")) == [1, 42, 43]
    assert event_stream.head_seq(shelter.agency_id) == 43
    # The referrer sees these under status_updates: its own stream numbers on from 1.
    liaison_numbers = StreamEntry.objects.filter(agency_id=liaison.agency_id)
    assert list(liaison_numbers.values_list("seq", flat=True).order_by("seq")) == [1, 2, 3]
    assert event_stream.head_seq(members["outsider"].agency_id) == 0
