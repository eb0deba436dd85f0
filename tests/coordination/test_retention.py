"""``manage.py apply_retention [--dry-run]``: the PII of survivors whose referrals have
all been closed for longer than ``RETENTION_DAYS`` is erased, as the system."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import Action, AuditEntry
from consent.models import Survivor
from coordination import services, states
from coordination.models import RecipientStatus
from tests.factories import ReferralFactory, SurvivorFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def referred(survivor, agency, status: str, *, closed_ago: timedelta):
    referral = ReferralFactory(survivor=survivor, to=[agency])
    RecipientStatus.objects.filter(referral=referral).update(
        status=status, updated_at=timezone.now() - closed_ago
    )
    return referral


@pytest.fixture
def people(agencies, settings):
    settings.RETENTION_DAYS = 100
    police, shelter = agencies["police"], agencies["shelter"]
    made = {
        name: SurvivorFactory(owner_agency=police, given_name=f"canary-retention-{name}")
        for name in ("due", "recent", "open", "unreferred", "mixed", "erased")
    }
    referred(made["due"], shelter, states.COMPLETED, closed_ago=101 * DAY)
    referred(made["due"], agencies["legal"], states.REJECTED, closed_ago=300 * DAY)
    referred(made["recent"], shelter, states.COMPLETED, closed_ago=99 * DAY)
    referred(made["open"], shelter, states.ACCEPTED, closed_ago=500 * DAY)
    referred(made["mixed"], shelter, states.CANCELLED, closed_ago=500 * DAY)
    referred(made["mixed"], shelter, states.COMPLETED, closed_ago=10 * DAY)
    referred(made["erased"], shelter, states.COMPLETED, closed_ago=500 * DAY)
    services.survivor_erase(actor=None, survivor_id=made["erased"].pk, reason="retention_period")
    return made


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apply_retention", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_only_survivors_whose_referrals_all_closed_long_ago_are_due(people):
    assert list(services.past_retention()) == [people["due"]]


def test_a_dry_run_lists_refs_only_and_changes_nothing(people):
    entries = AuditEntry.objects.count()
    out, _ = run("--dry-run")
    assert out.splitlines() == [
        people["due"].ref,
        "1 survivor(s) past the 100-day retention period.",
    ]
    assert "canary" not in out
    assert Survivor.objects.get(pk=people["due"].pk).given_name == "canary-retention-due"
    assert AuditEntry.objects.count() == entries


def test_the_run_erases_them_as_the_system_with_a_progress_bar(people):
    out, err = run()
    assert out == "1 survivor(s) erased under the 100-day retention period.\n"
    assert "survivor" in err  # tqdm's bar, on stderr
    due = Survivor.objects.get(pk=people["due"].pk)
    assert (due.erased_at is not None, due.given_name) == (True, "")
    entry = AuditEntry.objects.filter(action=Action.ERASURE, survivor_ref=due.ref).get()
    assert entry.actor_username == "system"
    assert entry.detail["reason"] == "retention_period"
    kept = Survivor.objects.exclude(pk__in=[due.pk, people["erased"].pk])
    assert all(s.erased_at is None and s.given_name.startswith("canary") for s in kept)
    assert run("--no-progress") == (
        "0 survivor(s) erased under the 100-day retention period.\n",
        "",
    )


def test_a_survivor_referred_again_meanwhile_is_kept(people, agencies):
    ReferralFactory(survivor=people["due"], to=[agencies["legal"]])
    assert services.survivor_erase_past_retention(survivor_id=people["due"].pk) is False
    assert Survivor.objects.get(pk=people["due"].pk).erased_at is None


@pytest.mark.parametrize(("days", "due"), [(99, {"due", "recent"}), (101, {"due"}), (301, set())])
def test_the_period_is_retention_days(people, settings, days, due):
    settings.RETENTION_DAYS = days
    by_id = {survivor.pk: name for name, survivor in people.items()}
    assert {by_id[s.pk] for s in services.past_retention()} == due
