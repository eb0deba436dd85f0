"""The access rule: relation x consent state, and the queryset agrees with the check."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.categories import RECIPIENT_CATEGORIES
from consent.models import ConsentRevocation
from coordination import access as policy
from coordination.models import Referral
from tests.factories import ConsentFactory, ReferralFactory, SurvivorFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)

# consent state -> (consent kwargs or None, does it release to the shelter?)
CONSENT_STATES = {
    "none": None,
    "active_in_scope": {"categories": ["identity", "contact"]},
    "active_other_categories": {"categories": ["medical"]},
    "active_for_another_agency": {"for_other": True, "categories": ["identity"]},
    "not_yet_valid": {"valid_from_offset": DAY, "categories": ["identity"]},
    "expired": {"valid_from_offset": -10 * DAY, "lifetime": 5 * DAY, "categories": ["identity"]},
    "revoked": {"revoked": True, "categories": ["identity"]},
}


def _make(state, agencies, members):
    survivor = SurvivorFactory(owner_agency=agencies["police"], created_by=members["liaison"].user)
    referral = ReferralFactory(survivor=survivor, to=[agencies["shelter"], agencies["legal"]])
    spec = CONSENT_STATES[state]
    if spec is not None:
        now = timezone.now()
        valid_from = now + spec.get("valid_from_offset", -DAY)
        consent = ConsentFactory(
            survivor=survivor,
            categories=spec["categories"],
            valid_from=valid_from,
            expires_at=valid_from + spec.get("lifetime", 30 * DAY),
            recipients=[agencies["legal"] if spec.get("for_other") else agencies["shelter"]],
        )
        if spec.get("revoked"):
            ConsentRevocation.objects.create(consent=consent, channel="oral", reason="x")
    return referral


@pytest.mark.parametrize("state", list(CONSENT_STATES))
@pytest.mark.parametrize("relation", ["referrer", "recipient", "unrelated"])
def test_release_follows_the_rule(relation, state, agencies, members):
    referral = _make(state, agencies, members)
    agency = {
        "referrer": agencies["police"],
        "recipient": agencies["shelter"],
        "unrelated": agencies["outsider"],
    }[relation]
    release = policy.release(agency.id, referral)
    visible = set(
        policy.visible_referrals(Referral.objects.all(), agency.id).values_list("id", flat=True)
    )

    if relation == "referrer":
        assert release.categories == RECIPIENT_CATEGORIES
        assert release.visible
    elif relation == "recipient" and state in ("active_in_scope", "active_other_categories"):
        assert release.visible
        assert release.categories == set(CONSENT_STATES[state]["categories"])
        assert len(release.consent_ids) == 1
    else:
        assert not release.visible
        assert release.fields() == frozenset()
    assert (referral.id in visible) == release.visible


def test_fields_follow_categories(agencies, members):
    referral = _make("active_in_scope", agencies, members)
    fields = policy.release(agencies["shelter"].id, referral).fields()
    assert fields == {
        "given_name",
        "family_name",
        "date_of_birth",
        "phone",
        "email",
        "safe_contact_instructions",
    }


def test_expiry_denies_at_read_time_without_any_job(agencies, members, time_machine):
    referral = _make("active_in_scope", agencies, members)
    assert policy.release(agencies["shelter"].id, referral).visible
    time_machine.move_to(timezone.now() + 40 * DAY)
    assert not policy.release(agencies["shelter"].id, referral).visible


def test_back_release_needs_status_updates_and_case_notes(agencies, members):
    referral = _make("none", agencies, members)
    ConsentFactory(
        survivor=referral.survivor,
        categories=["identity", "status_updates"],
        recipients=[agencies["shelter"]],
    )
    ConsentFactory(
        survivor=referral.survivor, categories=["case_notes"], recipients=[agencies["legal"]]
    )
    back = policy.back_releases(referral)
    assert back[agencies["shelter"].id].status_updates
    assert not back[agencies["shelter"].id].case_notes
    assert back[agencies["legal"].id].case_notes
    assert not back[agencies["legal"].id].status_updates


consent_spec = st.fixed_dictionaries(
    {
        "recipient": st.sampled_from(["shelter", "legal", "outsider"]),
        "categories": st.sets(st.sampled_from(sorted(RECIPIENT_CATEGORIES)), min_size=1),
        "start_days": st.integers(-20, 5),
        "lifetime_days": st.integers(1, 30),
        "revoked": st.booleans(),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(consent_spec, max_size=4),
    viewer=st.sampled_from(["police", "shelter", "legal", "outsider"]),
)
def test_queryset_and_check_agree_and_match_a_model(specs, viewer, agencies, members):
    referral = _make("none", agencies, members)
    now = timezone.now()
    expected = set()
    for spec in specs:
        valid_from = now + timedelta(days=spec["start_days"])
        consent = ConsentFactory(
            survivor=referral.survivor,
            categories=sorted(spec["categories"]),
            valid_from=valid_from,
            expires_at=valid_from + timedelta(days=spec["lifetime_days"]),
            recipients=[agencies[spec["recipient"]]],
        )
        if spec["revoked"]:
            ConsentRevocation.objects.create(consent=consent, channel="written", reason="x")
        active = valid_from <= now < consent.expires_at and not spec["revoked"]
        if active and spec["recipient"] == viewer and viewer in ("shelter", "legal"):
            expected |= spec["categories"]

    agency_id = agencies[viewer].id
    release = policy.release(agency_id, referral, at=now)
    listed = policy.visible_referrals(
        Referral.objects.filter(pk=referral.pk), agency_id, at=now
    ).exists()
    if viewer == "police":
        assert release.categories == RECIPIENT_CATEGORIES
    else:
        assert release.categories == expected
        assert release.visible == bool(expected)
    assert listed == release.visible
