"""The network report page: charts (self-contained SVG images) with table views, the
whole table, the CSV link through the audited API; admins only."""

import base64
import re

import pytest

from agencies.models import Role
from coordination import states
from coordination.models import RecipientStatus
from tests.factories import MemberFactory, ReferralFactory, SurvivorFactory
from tests.web.conftest import entries_since, head

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(agencies, members):
    """12 referrals to the shelter, 11 to legal aid and one to the outsider (a small
    cell, which the next smallest, legal aid's, hides)."""
    for index in range(24):
        survivor = SurvivorFactory(
            owner_agency=agencies["police"], created_by=members["liaison"].user
        )
        to = [agencies["legal"], agencies["shelter"]][index % 2] if index else agencies["outsider"]
        referral = ReferralFactory(survivor=survivor, to=[to], region="north")
        RecipientStatus.objects.filter(referral=referral).update(status=states.REQUESTED)
    return agencies


def _images(body: str) -> list[str]:
    found = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', body)
    return [base64.b64decode(data).decode() for data in found]


def test_a_network_admin_reads_charts_tables_and_a_csv_link(network, members, browser):
    before = head()
    page = browser(members["network_admin"]).get("/reports/", group_by="agency")
    body = page.content.decode()
    assert page.status_code == 200
    images = _images(body)
    assert len(images) == 1  # no acceptance yet: rates and hours all withheld, not drawn
    assert "Not drawn, every value withheld: Acceptance and decline rates;" in body
    for svg in images:
        assert "<script" not in svg
        assert "<title" in svg
        assert "<desc" in svg
        assert "http://" not in svg.replace("http://www.w3.org/", "")
    assert "&lt;11" in body  # the outsider's one referral, and legal aid's 11 hiding it
    assert 'href="/api/v1/reports/referrals/?group_by=agency&amp;format=csv"' in body
    (entry,) = entries_since(before)
    assert (entry.action, entry.object_type) == ("view", "referral_report")
    assert entry.detail["scope"] == "network"


def test_an_agency_admin_reads_its_own_agency(network, members, browser):
    page = browser(members["admin"]).get("/reports/")
    assert page.status_code == 200
    assert b"Referrals your agency (shelter) sent or received" in page.content


@pytest.mark.parametrize("role", [Role.LIAISON, Role.CASEWORKER, Role.COMPLIANCE_OFFICER])
def test_other_roles_are_refused(role, agencies, browser):
    member = MemberFactory(agency=agencies["police"], role=role)
    assert browser(member).get("/reports/").status_code == 403


def test_a_bad_parameter_shows_on_the_form_and_reads_nothing(members, browser):
    before = head()
    page = browser(members["network_admin"]).get("/reports/", group_by="survivor")
    assert page.status_code == 400
    assert b"Select a valid choice" in page.content
    assert entries_since(before) == []
