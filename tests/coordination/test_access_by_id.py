"""A referral read by id is fetched, decided once and refused when the decision hides
it (``selectors.referral_visible`` over ``access.decide_one``): the same referrals
the scoped queryset (``access.visible_referrals``) shows, for every relation, consent
state and role, and the same decision ``access.decide`` makes."""

import uuid

import pytest

from agencies.errors import NotFound
from coordination import access, selectors
from coordination.models import Referral
from tests.coordination.test_access import CONSENT_STATES, _make

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("state", list(CONSENT_STATES))
@pytest.mark.parametrize(
    "member", ["liaison", "caseworker", "legal_caseworker", "outsider", "admin", "compliance"]
)
def test_a_referral_by_id_is_shown_exactly_when_the_scoped_queryset_has_it(
    member, state, agencies, members
):
    referral = _make(state, agencies, members)
    viewer = members[member]
    listed = selectors.referrals_visible_to(viewer).filter(pk=referral.pk).exists()
    try:
        shown, decision = selectors.referral_visible(viewer, referral.pk)
    except NotFound:
        assert not listed
        return
    assert listed
    assert shown.pk == referral.pk
    expected = access.decide(viewer.agency_id, [shown], role=viewer.role)
    assert decision.release(shown) == expected.release(shown)
    assert decision.backs == expected.backs


def test_a_missing_referral_and_a_hidden_one_are_refused_alike(agencies, members):
    hidden = _make("none", agencies, members)
    for referral_id in (hidden.pk, uuid.uuid4()):
        with pytest.raises(NotFound):
            selectors.referral_visible(members["caseworker"], referral_id)
    assert Referral.objects.filter(pk=hidden.pk).exists()


def test_the_detail_read_asks_the_consents_once(agencies, members, django_assert_num_queries):
    referral = _make("active_in_scope", agencies, members)
    # the statuses with their referral and its survivor; the consents with the member's
    # emergency accesses (one UNION ALL): nothing asked twice
    with django_assert_num_queries(2):
        selectors.referral_visible(members["caseworker"], referral.pk)
