"""``GET /api/v1/audit/alerts/`` and ``POST …/{id}/acknowledge/``: compliance officers
only, filtered and paged, every step audited (the note never reaches the trail)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import Action, Alert, AlertRule, AuditEntry
from audit.recorder import record
from tests.audit.test_alerts import emergency, refused

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/audit/alerts/"


def ack(alert) -> str:
    return f"{ALERTS}{alert.pk}/acknowledge/"


@pytest.fixture
def raised(members):
    """Three alerts: two emergency accesses by the caseworker, refusals by the outsider."""
    emergency(members["caseworker"], 1)
    emergency(members["caseworker"], 2)
    for _ in range(5):
        refused(members["outsider"])
    return list(Alert.objects.order_by("id"))


def newest_entry():
    return AuditEntry.objects.order_by("-seq").first()


ROLES = ["liaison", "caseworker", "admin", "outsider", "network_admin"]


@pytest.mark.parametrize("role", ROLES)
def test_only_compliance_officers_list_alerts(role, members, api, raised):
    response = api(members[role]).get(ALERTS)
    assert response.status_code == 403
    entry = newest_entry()
    assert (entry.action, entry.outcome) == ("denied", "denied")


@pytest.mark.parametrize("role", ROLES)
def test_only_compliance_officers_acknowledge(role, members, api, raised):
    response = api(members[role]).post(ack(raised[0]), {"note": "checked"}, format="json")
    assert response.status_code == 403
    raised[0].refresh_from_db()
    assert raised[0].acknowledged_at is None


def test_the_list_is_newest_first_and_its_read_is_audited(members, api, raised):
    response = api(members["compliance"]).get(ALERTS)
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == [alert.pk for alert in reversed(raised)]
    first = body["results"][0]
    assert first["rule"] == AlertRule.REFUSALS_PER_HOUR
    assert first["rule_label"] == "many refusals in an hour"
    assert first["acknowledged"] is False
    entry = newest_entry()
    assert (entry.action, entry.object_type) == ("list", "alert")
    assert entry.actor_user_id == members["compliance"].user_id
    assert entry.detail["count"] == 3
    assert entry.detail["ids"] == [alert.pk for alert in reversed(raised)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("rule=emergency_access", [1, 0]),
        ("rule=refusals_per_hour", [2]),
        ("member={caseworker}", [1, 0]),
        ("agency=outsider", [2]),
        ("acknowledged=false", [2, 1]),
        ("acknowledged=true", [0]),
        ("after={first}", [2, 1]),
    ],
)
def test_filters(query, expected, members, api, raised):
    api(members["compliance"]).post(ack(raised[0]), {"note": "seen"}, format="json")
    query = query.format(caseworker=members["caseworker"].user_id, first=raised[0].pk)
    response = api(members["compliance"]).get(f"{ALERTS}?{query}")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [raised[n].pk for n in expected]
    assert newest_entry().detail["filters"]


@pytest.mark.parametrize("query", ["rule=nope", "acknowledged=maybe", "after=x", "member=2.5"])
def test_bad_filters_are_a_400(query, members, api, raised):
    before = AuditEntry.objects.count()
    response = api(members["compliance"]).get(f"{ALERTS}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert AuditEntry.objects.count() == before


def test_the_list_pages_with_the_cursor(members, api, raised):
    client = api(members["compliance"])
    first = client.get(f"{ALERTS}?page_size=2").json()
    assert len(first["results"]) == 2
    assert first["next"]
    second = client.get(first["next"]).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert seen == [alert.pk for alert in reversed(raised)]


def test_the_list_reads_as_many_queries_for_nine_alerts_as_for_three(members, api, raised):
    client = api(members["compliance"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            response = client.get(ALERTS)
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json()["results"])

    few = queries()
    for _ in range(6):
        emergency(members["legal_caseworker"], 3)
    many = queries()
    assert (few[1], many[1]) == (3, 9)
    # The request's own reads and its entry, and (in a test, where nothing commits) the
    # entry's sealing and the watch's count, inline.
    assert few[0] == many[0] <= 26


def test_acknowledging_records_who_when_and_the_note_but_audits_no_note(members, api, raised):
    alert = raised[0]
    note = "Called the caseworker: a real emergency, see ticket 42."
    response = api(members["compliance"]).post(ack(alert), {"note": note}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["acknowledged"] is True
    assert body["acknowledged_by_username"] == members["compliance"].user.username
    assert body["note"] == note
    entry = newest_entry()
    assert (entry.action, entry.object_type, entry.object_id) == (
        Action.ALERT_ACKNOWLEDGE,
        "alert",
        str(alert.pk),
    )
    assert entry.detail == {"rule": alert.rule, "member": alert.actor_user_id}
    assert "ticket 42" not in str(entry.detail)


def test_an_alert_is_acknowledged_once(members, api, raised):
    client = api(members["compliance"])
    assert client.post(ack(raised[0]), {"note": "first"}, format="json").status_code == 200
    before = AuditEntry.objects.count()
    response = client.post(ack(raised[0]), {"note": "second"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_acknowledged"
    raised[0].refresh_from_db()
    assert raised[0].note == "first"
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "x" * 2001}, {"note": ["a"]}])
def test_a_bad_note_is_a_400_that_writes_nothing(body, members, api, raised):
    before = AuditEntry.objects.count()
    response = api(members["compliance"]).post(ack(raised[0]), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    raised[0].refresh_from_db()
    assert raised[0].acknowledged_at is None
    assert AuditEntry.objects.count() == before


def test_an_unknown_alert_is_a_404(members, api, raised):
    response = api(members["compliance"]).post(
        f"{ALERTS}999999/acknowledge/", {"note": "x"}, format="json"
    )
    assert response.status_code == 404
    assert newest_entry().action == "denied"


def test_an_alert_shows_no_survivor_ref(members, api):
    record(
        action=Action.EMERGENCY_ACCESS,
        actor=members["caseworker"].as_actor(),
        survivor_ref="S-SECRET01",
    )
    response = api(members["compliance"]).get(ALERTS)
    assert "S-SECRET01" not in response.content.decode()


def test_refused_requests_raise_an_alert_the_requests_do_not_own(members, api):
    client = api(members["caseworker"])
    responses = [client.get(ALERTS) for _ in range(5)]
    assert {response.status_code for response in responses} == {403}
    alert = Alert.objects.get(rule=AlertRule.REFUSALS_PER_HOUR)
    assert alert.actor_user_id == members["caseworker"].user_id
    raised = AuditEntry.objects.get(action=Action.ALERT_RAISE)
    assert raised.request_id == ""
    assert raised.client_ip is None
    fifth = AuditEntry.objects.get(request_id=responses[-1]["X-Request-ID"])
    assert (fifth.action, fifth.seq) == ("denied", alert.entry_seq)
