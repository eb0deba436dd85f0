"""The audit API and the compliance pages page with the project's one cursor class, in
the order the selectors give (entries by ``-seq``, the ledger by ``-id``)."""

import re

import pytest

from audit.models import AuditEntry, Disclosure
from audit.recorder import Actor, record
from tests.conftest import client_for
from tests.web.conftest import Browser

pytestmark = pytest.mark.django_db

REF = "S-AAAA1111"
ROW_SEQ = re.compile(r'<tr class="outcome-\w+">\s*<td>(\d+)</td>')
LEDGER_SEQ = re.compile(r"<td>#(\d+)</td>")


@pytest.fixture
def trail():
    """Seven disclosures of one survivor (each an entry and a ledger line)."""
    for i in range(7):
        record(
            action="view",
            actor=Actor(user_id=i, agency="shelter", role="caseworker"),
            object_type="referral",
            object_id=f"r{i}",
            survivor_ref=REF,
            consent_ids=["c1"],
        )
    return list(AuditEntry.objects.order_by("-seq").values_list("seq", flat=True))


def _follow(client, url, key):
    """Every page from ``url`` on: the ``key`` of each row, in the order shown."""
    seen = []
    while url:
        body = client.get(url).json()
        seen += [row[key] for row in body["results"]]
        url = body["next"]
    return seen


def test_the_api_pages_the_trail_newest_first_by_cursor(members, trail):
    client = client_for(members["compliance"])
    seen = _follow(client, "/api/v1/audit/entries/?page_size=3&action=view", "seq")
    assert seen == trail  # each page's own audit entry is newer: never shown
    first = client.get("/api/v1/audit/entries/?page_size=3&action=view").json()
    second = client.get(first["next"]).json()
    assert "action=view" in first["next"]
    back = client.get(second["previous"]).json()
    assert [e["seq"] for e in back["results"]] == [e["seq"] for e in first["results"]]


def test_the_api_pages_the_ledger_newest_first_by_cursor(members, trail):
    client = client_for(members["compliance"])
    seen = _follow(client, f"/api/v1/audit/ledger/?survivor_ref={REF}&page_size=2", "entry_seq")
    assert seen == trail


def test_page_sizes_are_bounded_by_the_cursor_class(members, trail):
    client = client_for(members["compliance"])
    assert len(client.get("/api/v1/audit/entries/?page_size=1").json()["results"]) == 1
    default = client.get("/api/v1/audit/entries/?action=view").json()
    assert len(default["results"]) == len(trail)  # fewer than a default page (50)
    assert default["next"] is None


def _follow_pages(client, path, query, pattern):
    """Every page from ``path?query`` on through its "Older" links: the seqs shown, and
    how many links were followed (each carries the API's ``cursor``)."""
    seen, links, url = [], 0, f"{path}?{query}"
    while url:
        body = client.get(url).content.decode()
        seen += [int(seq) for seq in pattern.findall(body)]
        following = re.search(r'<a href="\?([^"]+)">Older', body)
        url = ""
        if following:
            older = following.group(1).replace("&amp;", "&")
            assert re.search(r"(^|&)cursor=", older)
            url, links = f"{path}?{older}", links + 1
    return seen, links


def test_the_search_page_pages_back_with_the_apis_cursor(members, trail):
    client = Browser(members["compliance"])
    seen, links = _follow_pages(client, "/audit/", "page_size=3&action=view", ROW_SEQ)
    assert seen == trail
    assert links == 2


def test_the_ledger_page_pages_back_with_the_apis_cursor(members, trail):
    client = Browser(members["compliance"])
    query = f"survivor_ref={REF}&page_size=3"
    seen, links = _follow_pages(client, "/audit/ledger/", query, LEDGER_SEQ)
    assert seen == trail
    assert links == 2
    reads = AuditEntry.objects.filter(object_type="disclosure").order_by("seq")
    assert [entry.detail["count"] for entry in reads] == [3, 3, 1]
    assert Disclosure.objects.count() == len(trail)


@pytest.mark.parametrize(
    "path", ["/api/v1/audit/entries/", f"/api/v1/audit/ledger/?survivor_ref={REF}"]
)
@pytest.mark.parametrize("cursor", ["not-a-cursor", "bz14JnA9MQ=="])
def test_an_invalid_cursor_is_a_400_on_the_api_and_writes_nothing(path, cursor, members, trail):
    before = AuditEntry.objects.count()
    joiner = "&" if "?" in path else "?"
    response = client_for(members["compliance"]).get(f"{path}{joiner}cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "cursor" in response.json()["fields"]
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("path", ["/audit/?", f"/audit/ledger/?survivor_ref={REF}&"])
def test_an_invalid_cursor_is_a_400_on_the_pages_and_writes_nothing(path, members, trail):
    before = AuditEntry.objects.count()
    response = Browser(members["compliance"]).get(f"{path}cursor=not-a-cursor")
    assert response.status_code == 400
    assert b"This page link is not valid." in response.content
    assert AuditEntry.objects.count() == before
