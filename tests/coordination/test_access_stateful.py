"""Random sequences of record / revoke / expire / transition / read; the invariant is
the access rule itself, checked through the HTTP API after every step."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from agencies.errors import DomainError
from consent import services as consent_services
from consent.categories import FIELD_CATEGORY, RECIPIENT_CATEGORIES
from coordination import services, states
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

CANARY = {name: f"canary-{name}" for name in FIELD_CATEGORY}
CANARY["date_of_birth"] = "1980-01-01"
CANARY["email"] = "canary@example.org"
RECIPIENTS = ("shelter", "legal")
CATEGORY_SETS = st.sets(st.sampled_from(sorted(RECIPIENT_CATEGORIES)), min_size=1)


class ConsentLifecycle(RuleBasedStateMachine):
    consents = Bundle("consents")

    def __init__(self, members, agencies):
        super().__init__()
        self.members, self.agencies = members, agencies
        self.traveller = time_machine.travel(timezone.now(), tick=False)
        self.clock = self.traveller.start()
        survivor = consent_services.survivor_create(
            actor=members["liaison"], data={k: v for k, v in CANARY.items() if k != "narrative"}
        )
        self.survivor_id = survivor.id
        self.referral = services.referral_create(
            actor=members["liaison"],
            survivor_id=survivor.id,
            recipients=[agencies[name].id for name in RECIPIENTS],
            needs=["shelter"],
            urgency="high",
            narrative=CANARY["narrative"],
        )
        self.model = []  # [recipients, categories, expires_at, revoked]

    def teardown(self):
        self.traveller.stop()

    def expected(self, name: str) -> set[str]:
        now = timezone.now()
        granted = set()
        for recipients, categories, expires_at, revoked in self.model:
            if name in recipients and not revoked and now < expires_at:
                granted |= categories
        return granted & RECIPIENT_CATEGORIES

    @rule(
        target=consents,
        recipients=st.sets(st.sampled_from(RECIPIENTS), min_size=1),
        categories=CATEGORY_SETS,
        days=st.integers(1, 60),
    )
    def record(self, recipients, categories, days):
        expires_at = timezone.now() + timedelta(days=days)
        consent = services.consent_record(
            actor=self.members["liaison"],
            survivor_id=self.survivor_id,
            recipients=[self.agencies[name].id for name in sorted(recipients)],
            categories=sorted(categories),
            method="written",
            evidence_sha256="c" * 64,
            language="en",
            interpreter_used=False,
            notice_version="v1",
            services_not_conditional=True,
            signed_by="survivor",
            expires_at=expires_at,
        )
        entry = [set(recipients), set(categories), expires_at, False]
        self.model.append(entry)
        return (consent.id, entry)

    @rule(item=consumes(consents), channel=st.sampled_from(["oral", "written", "electronic"]))
    def revoke(self, item, channel):
        consent_id, entry = item
        services.consent_revoke(
            actor=self.members["liaison"], consent_id=consent_id, reason="asked", channel=channel
        )
        entry[3] = True

    @rule(days=st.integers(1, 30))
    def time_passes(self, days):
        self.clock.shift(timedelta(days=days))

    @rule()
    def expiry_job_runs(self):
        services.consent_expire_due()
        for name in RECIPIENTS:
            if not self.expected(name):
                status = self.referral.recipients.get(agency=self.agencies[name]).status
                assert status not in states.TRANSITIONS["revoke"].sources

    @rule(
        who=st.sampled_from(["caseworker", "legal_caseworker"]),
        action=st.sampled_from(["accept", "reject", "start", "hold", "complete"]),
    )
    def caseworker_acts(self, who, action):
        name = "shelter" if who == "caseworker" else "legal"
        refused = None
        try:
            services.referral_transition(
                actor=self.members[who],
                referral_id=self.referral.id,
                action=action,
                reason="r",
                outcome="o",
            )
        except DomainError as error:
            refused = error.code
        # Refused as missing exactly when no consent covers the agency; otherwise the
        # only refusal is the state table's.
        assert refused in (None, "not_found", "illegal_transition")
        assert (refused == "not_found") == (not self.expected(name))

    @invariant()
    def every_agency_reads_exactly_what_the_rule_releases(self):
        for name, member in (
            ("shelter", "caseworker"),
            ("legal", "legal_caseworker"),
            ("outsider", "outsider"),
        ):
            granted = self.expected(name) if name in RECIPIENTS else set()
            response = client_for(self.members[member]).get(
                f"/api/v1/referrals/{self.referral.id}/"
            )
            if not granted:
                assert response.status_code == 404
                continue
            assert response.status_code == 200
            body = response.content.decode()
            shown = {field for field, value in CANARY.items() if value in body}
            assert shown == {f for f, c in FIELD_CATEGORY.items() if c in granted}


def test_access_rule_holds_over_random_histories(members, agencies):
    run_state_machine_as_test(
        lambda: ConsentLifecycle(members, agencies),
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
