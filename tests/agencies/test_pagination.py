"""The agency directory and the members list page with the project's one cursor class,
in the order their selectors give; each page shown is one audited ``list``."""

import re

import pytest

from agencies.models import Membership, Role
from audit.models import AuditEntry
from tests.conftest import client_for
from tests.factories import AgencyFactory, MemberFactory
from tests.web.conftest import Browser

pytestmark = pytest.mark.django_db


def _follow(client, url, key):
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        seen += [row[key] for row in body["results"]]
        url, pages = body["next"], pages + 1
    return seen, pages


def _reads(object_type):
    entries = AuditEntry.objects.filter(action="list", object_type=object_type).order_by("seq")
    return [entry.detail["count"] for entry in entries]


def test_the_directory_pages_by_slug_then_id(members, agencies):
    AgencyFactory(slug="aardvark-aid")
    AgencyFactory(slug="zeta-shelter")
    AgencyFactory(slug="closed", is_active=False)
    seen, pages = _follow(client_for(members["outsider"]), "/api/v1/agencies/?page_size=2", "slug")
    expected = ["aardvark-aid", "legal", "outsider", "oversight", "police", "shelter"]
    assert seen == [*expected, "zeta-shelter"]
    assert pages == 4
    assert _reads("agency") == [2, 2, 2, 1]


def test_the_directory_keeps_its_filters_across_pages(members, agencies):
    client = client_for(members["outsider"])
    first = client.get("/api/v1/agencies/?page_size=1&kind=shelter").json()
    assert [row["slug"] for row in first["results"]] == ["shelter"]
    assert first["next"] is None


def test_the_members_list_pages_newest_first(members, agencies):
    for _ in range(3):
        MemberFactory(agency=agencies["shelter"], role=Role.CASEWORKER)
    own = list(
        Membership.objects.filter(agency=agencies["shelter"])
        .order_by("-id")
        .values_list("id", flat=True)
    )
    seen, pages = _follow(client_for(members["admin"]), "/api/v1/members/?page_size=2", "id")
    assert seen == own
    assert pages == 3
    assert _reads("membership") == [2, 2, 1]


def test_the_members_page_pages_with_the_apis_cursor(members, agencies):
    for _ in range(3):
        MemberFactory(agency=agencies["shelter"], role=Role.CASEWORKER)
    own = list(
        Membership.objects.filter(agency=agencies["shelter"])
        .order_by("-id")
        .values_list("user__username", flat=True)
    )
    client = Browser(members["admin"])
    seen, url = [], "/members/?page_size=2"
    while url:
        body = client.get(url).content.decode()
        seen += re.findall(r"<tr>\s*<td>([^<]+)</td>", body)
        following = re.search(r'<a href="\?([^"]+)">Earlier members', body)
        url = "/members/?" + following.group(1).replace("&amp;", "&") if following else ""
    assert seen == own
    assert _reads("membership") == [2, 2, 1]


@pytest.mark.parametrize("path", ["/api/v1/agencies/", "/api/v1/members/"])
def test_an_invalid_cursor_is_a_400_and_writes_nothing(path, members):
    before = AuditEntry.objects.count()
    response = client_for(members["admin"]).get(f"{path}?cursor=not-a-cursor")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "cursor" in response.json()["fields"]
    assert AuditEntry.objects.count() == before


def test_an_invalid_cursor_on_the_members_page_is_a_400(members):
    before = AuditEntry.objects.count()
    response = Browser(members["admin"]).get("/members/?cursor=not-a-cursor")
    assert response.status_code == 400
    assert AuditEntry.objects.count() == before
