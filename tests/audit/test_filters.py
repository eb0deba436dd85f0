"""The audit filters (``audit.filters``) are one rule for the API and the pages."""

from datetime import UTC, datetime

import pytest
import time_machine

from audit.models import AuditEntry
from audit.recorder import Actor, record
from tests.conftest import client_for
from tests.web.conftest import Browser

pytestmark = pytest.mark.django_db

REF = "S-AAAA1111"
OTHER_REF = "S-BBBB2222"
DAYS = [datetime(2026, 3, day, 12, 0, tzinfo=UTC) for day in (1, 2, 3)]


@pytest.fixture
def disclosures():
    """One disclosure of REF a day for three days (and one of another survivor)."""
    for at in DAYS:
        with time_machine.travel(at, tick=False):
            record(
                action="view",
                actor=Actor(user_id=7, agency="shelter", role="caseworker"),
                object_type="referral",
                object_id="r1",
                survivor_ref=REF,
                categories=["identity"],
                consent_ids=["c1"],
            )
    record(action="view", actor=Actor(agency="shelter"), survivor_ref=OTHER_REF, consent_ids=["c2"])


def _api(members, path):
    return client_for(members["compliance"]).get(path)


@pytest.mark.parametrize(
    ("query", "field"),
    [("actor=2.5", "actor"), ("since=yesterday", "since"), ("outcome=maybe", "outcome")],
)
def test_a_malformed_filter_is_a_400_on_the_api_and_writes_nothing(query, field, members):
    before = AuditEntry.objects.count()
    response = _api(members, f"/api/v1/audit/entries/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert AuditEntry.objects.count() == before


def test_browser_datetimes_narrow_the_trail_on_the_api_and_the_page(members, disclosures):
    query = "since=2026-03-02T00:00&until=2026-03-03T00:00&action=view"
    body = _api(members, f"/api/v1/audit/entries/?{query}").json()
    assert [entry["at"][:10] for entry in body["results"]] == ["2026-03-02"]
    read = AuditEntry.objects.order_by("-seq").first()
    assert read.detail["filters"] == {
        "action": "view",
        "since": "2026-03-02T00:00:00+00:00",
        "until": "2026-03-03T00:00:00+00:00",
    }
    page = Browser(members["compliance"]).get(f"/audit/?{query}").content.decode()
    assert page.count('<tr class="outcome-') == 1
    assert "2026-03-02 12:00:00" in page
    assert AuditEntry.objects.order_by("-seq").first().detail["filters"] == read.detail["filters"]


def test_the_search_page_renders_the_filters_form(members):
    page = Browser(members["compliance"]).get("/audit/").content.decode()
    assert page.count('type="datetime-local"') == 2
    assert 'name="actor"' in page
    assert '<option value="" selected>any</option>' in page


def test_the_ledger_needs_a_well_formed_survivor_ref(members, disclosures):
    for query, message in [("", "This field is required."), ("survivor_ref=Ana", "S-7F3K92QD")]:
        response = _api(members, f"/api/v1/audit/ledger/?{query}")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert message in response.json()["fields"]["survivor_ref"][0]


def test_the_ledger_narrows_to_one_survivor_and_a_time_range(members, disclosures):
    body = _api(members, f"/api/v1/audit/ledger/?survivor_ref={REF}&since=2026-03-02T00:00").json()
    assert [line["at"][:10] for line in body["results"]] == ["2026-03-03", "2026-03-02"]
    assert {line["survivor_ref"] for line in body["results"]} == {REF}
    until = _api(members, f"/api/v1/audit/ledger/?survivor_ref={REF}&until=2026-03-02T00:00")
    assert [line["at"][:10] for line in until.json()["results"]] == ["2026-03-01"]


def test_the_ledger_page_filters_alike_and_links_the_same_query(members, disclosures):
    client = Browser(members["compliance"])
    page = client.get("/audit/ledger/", survivor_ref=REF, since="2026-03-02T00:00", until="")
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count("<tr>") == 3  # the header and two disclosures
    assert "2026-03-01" not in body
    link = f"/api/v1/audit/ledger/?survivor_ref={REF}&amp;since=2026-03-02T00%3A00%3A00%2B00%3A00"
    assert f'href="{link}"' in body
    assert 'type="datetime-local"' in body
    assert AuditEntry.objects.order_by("-seq").first().detail == {"count": 2}


@pytest.mark.parametrize("path", ["/api/v1/audit/entries/", "/api/v1/audit/ledger/"])
def test_an_offset_postgresql_cannot_store_is_compared_in_utc(path, members, disclosures):
    # ISO 8601 text may carry an offset up to ±23:59; PostgreSQL refuses beyond ±15:59.
    query = "since=1902-06-05T18:55:04-20:59&until=2999-01-01T00:00:00%2B23:59"
    if path.endswith("ledger/"):
        query += "&survivor_ref=S-AAAAAAAA"
    response = _api(members, f"{path}?{query}")
    assert response.status_code == 200, response.content[:200]
