"""The fuzz suites' world and tally.

``world`` seeds what generated requests can hit: a survivor of the liaison's agency,
a referral of them to two agencies, a consent that releases it to one of them, and a
case note, so ids in paths and bodies name real objects as well as random ones. Each
fuzz case run is counted per role and suite; the session writes the counts to
``SRN_DATA_DIR/fuzz-cases.json`` (the README's reliability table cites them).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from agencies.models import Role
from audit.models import Action, Alert
from audit.recorder import record
from consent import services as consent_services
from coordination import services
from tests.factories import MemberFactory

# Every role is fuzzed, each signed in as its member in ``tests.conftest.members``
# (a role that has none there gets one in the government agency), and anonymous.
FIXTURE_MEMBERS = {
    "liaison": "liaison",
    "caseworker": "caseworker",
    "agency_admin": "admin",
    "compliance_officer": "compliance",
}
ROLES = (*Role.values, "anonymous")

COUNTS: dict[str, Counter] = {"api": Counter(), "forms": Counter()}
COUNTS_FILE = "fuzz-cases.json"


def count_case(suite: str, role: str) -> None:
    COUNTS[suite][role] += 1


def pytest_sessionfinish(session, exitstatus):
    if not any(COUNTS.values()):
        return
    report = {
        suite: {"by_role": dict(sorted(counts.items())), "total": sum(counts.values())}
        for suite, counts in COUNTS.items()
    }
    report["total"] = sum(part["total"] for part in report.values())
    path = Path(settings.DATA_DIR) / COUNTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


@pytest.fixture
def connection_kept_across_requests():
    """Requests go straight to Django's WSGI handler, which closes the database
    connection as a request starts and ends (it is not in autocommit inside the test's
    transaction): that would end the test's transaction. Django's own test client
    unhooks the same signals for the same reason."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


class World:
    """Ids of the seeded objects, by the name of the path parameter that takes them."""

    def __init__(self, members, agencies):
        liaison = members["liaison"]
        self.survivor = consent_services.survivor_create(
            actor=liaison, data={"given_name": "fuzz-given", "preferred_language": "es"}
        )
        self.referral = services.referral_create(
            actor=liaison,
            survivor_id=self.survivor.id,
            recipients=[agencies["shelter"].id, agencies["legal"].id],
            needs=["shelter", "legal"],
            urgency="high",
            region="metro",
            narrative="fuzz-narrative",
        )
        now = timezone.now()
        self.consent = services.consent_record(
            actor=liaison,
            survivor_id=self.survivor.id,
            recipients=[agencies["shelter"].id],
            categories=["identity", "contact", "narrative", "status_updates", "case_notes"],
            method="written",
            evidence_sha256="a" * 64,
            language="es",
            interpreter_used=True,
            notice_version="2026-01",
            services_not_conditional=True,
            signed_by="survivor",
            valid_from=now,
            expires_at=now + timedelta(days=90),
        )
        self.note = services.note_add(
            actor=members["caseworker"], referral_id=self.referral.id, text="fuzz-note"
        )
        self.members = members
        self.agencies = agencies
        # An access alert to review: an emergency access raises one (audit.alert_watch).
        record(
            action=Action.EMERGENCY_ACCESS,
            actor=members["caseworker"].as_actor(),
            survivor_ref=self.survivor.ref,
        )
        self.alert = Alert.objects.get()
        self.by_role = {
            role: members[FIXTURE_MEMBERS[role]]
            if role in FIXTURE_MEMBERS
            else MemberFactory(agency=agencies["oversight"], role=role)
            for role in Role.values
        }
        self.path_ids = {
            "survivor_id": [str(self.survivor.id)],
            "referral_id": [str(self.referral.id)],
            "consent_id": [str(self.consent.id)],
            # a member of the admin's agency, the admin themself, one of another agency
            "member_id": [members[name].id for name in ("caseworker", "admin", "outsider")],
            "alert_id": [self.alert.pk],
        }


@pytest.fixture
def world(members, agencies):
    return World(members, agencies)
