"""The compliance officer's audit API: filters, pagination, export, verify; all audited."""

import csv
import io
import json

import pytest

from audit.models import AuditEntry
from audit.recorder import Actor, record
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail():
    for i in range(5):
        record(
            action="view",
            actor=Actor(user_id=i, agency="shelter"),
            object_type="referral",
            object_id=f"r{i}",
            survivor_ref="S-AAAA1111" if i % 2 else "S-BBBB2222",
            categories=["identity"],
            outcome="allowed" if i < 4 else "denied",
        )


@pytest.mark.parametrize("who", ["liaison", "caseworker", "admin", "outsider"])
def test_only_compliance_officers_read_the_trail(who, members, trail):
    client = client_for(members[who])
    assert client.get("/api/v1/audit/entries/").status_code == 403
    assert client.get("/api/v1/audit/entries/?format=csv").status_code == 403
    assert client.get("/api/v1/audit/verify/").status_code == 403
    assert client_for().get("/api/v1/audit/entries/").status_code == 401


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("survivor_ref=S-AAAA1111", 2),
        ("outcome=denied", 1),
        ("object_id=r3", 1),
        ("agency=shelter&action=view", 5),
        ("actor=2", 1),
    ],
)
def test_filters_narrow_the_trail(query, count, members, trail):
    body = client_for(members["compliance"]).get(f"/api/v1/audit/entries/?{query}").json()
    assert len(body["results"]) == count


def test_reading_and_exporting_the_trail_is_audited_and_paginated(members, trail):
    client = client_for(members["compliance"])
    first = client.get("/api/v1/audit/entries/?page_size=2").json()
    assert [e["seq"] for e in first["results"]] == [5, 4]
    assert client.get(first["next"]).json()["results"][0]["seq"] == 3
    exported = client.get("/api/v1/audit/entries/?format=csv&action=view")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4, 5]
    ndjson = client.get("/api/v1/audit/entries/?format=json&outcome=denied")
    lines = b"".join(ndjson.streaming_content).decode().splitlines()
    assert [json.loads(line)["object_id"] for line in lines] == ["r4"]
    actions = list(
        AuditEntry.objects.filter(actor_role="compliance_officer").values_list("action", flat=True)
    )
    assert actions == ["list", "list", "export", "export"]


def test_verify_endpoint_reports_the_chain(members, trail):
    body = client_for(members["compliance"]).get("/api/v1/audit/verify/").json()
    assert body["ok"] is True
    assert body["checked"] == 5


FORMULA = '=HYPERLINK("http://x","y")'


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_formula_a_client_wrote_reaches_the_csv_export_as_text(members):
    refused = client_for(members["liaison"]).get("/api/v1/audit/entries/", HTTP_USER_AGENT=FORMULA)
    assert refused.status_code == 403
    client = client_for(members["compliance"])
    (row,) = _csv_rows(client.get("/api/v1/audit/entries/?format=csv&outcome=denied"))
    assert row["user_agent"] == "'" + FORMULA
    ndjson = client.get("/api/v1/audit/entries/?format=json&outcome=denied")
    (line,) = b"".join(ndjson.streaming_content).decode().splitlines()
    assert json.loads(line)["user_agent"] == FORMULA  # NDJSON stays raw JSON


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_trigger_is_escaped_in_the_csv_export(trigger, members):
    record(action="view", actor=Actor(agency="shelter"), object_id=f"{trigger}1+1")
    exported = client_for(members["compliance"]).get(
        "/api/v1/audit/entries/?format=csv&action=view"
    )
    (row,) = _csv_rows(exported)
    assert row["object_id"] == f"'{trigger}1+1"
    assert row["seq"] == "1"
    assert row["detail"] == "{}"
