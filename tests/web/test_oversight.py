"""The compliance dashboard (charts with text alternatives and tables, the chain's
state, the open alerts), an alert's review page and its acknowledgement, and the
agency admin's working hours."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.models import Agency
from audit.models import Action, Alert, AuditEntry
from consent.models import Consent
from tests.audit.test_alerts import emergency, refused
from tests.factories import ConsentFactory, SurvivorFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/audit/dashboard/"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def images(html: str) -> list[tuple[str, str]]:
    """(decoded SVG, alt text) of each chart image."""
    found = re.findall(
        r'<img class="chart-image" src="data:image/svg\+xml;base64,([^"]+)" '
        r'alt="([^"]+)">',
        html,
    )
    return [(base64.b64decode(data).decode(), alt) for data, alt in found]


@pytest.fixture
def activity(members, agencies):
    """Two days of accesses, refusals and emergency accesses, and consents expiring."""
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        for _ in range(5):
            refused(members["outsider"])  # an alert
        emergency(members["caseworker"], 1)
    with time_machine.travel(NOW, tick=False):
        refused(members["liaison"])
        emergency(members["caseworker"], 2)
    survivor = SurvivorFactory(owner_agency=agencies["police"], created_by=members["liaison"].user)
    for days in (3, 3, 12, 45):
        ConsentFactory(
            survivor=survivor,
            valid_from=NOW - timedelta(days=1),
            expires_at=NOW + timedelta(days=days),
            recorded_by=members["liaison"].user,
        )


def test_the_dashboard_draws_each_chart_with_a_text_alternative_and_a_table(
    activity, members, browser
):
    with time_machine.travel(NOW, tick=False):
        response = browser(members["compliance"]).get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    charts = images(html)
    assert [svg.split("<title", 2)[1].split(">", 1)[1].split("<")[0] for svg, _ in charts] == [
        "Accesses per agency per day",
        "Refusals per day",
        "Emergency accesses per day",
        "Consents expiring in the next 30 days",
    ]
    alts = [alt for _, alt in charts]
    assert "Refusals per day: 6 refusals over 14 days, at most 5 on one day." in alts
    assert "Emergency accesses per day: 2 emergency accesses over 14 days" in alts[2]
    assert "Consents expiring in the next 30 days: 3 consents over 30 days" in alts[3]
    assert html.count("<figcaption>") == 4
    assert html.count("<summary>Table view</summary>") == 4
    assert '<th scope="row">Nov 23</th><td>5</td>' in html  # refusals the day before
    assert '<th scope="row">Nov 27</th><td>2</td>' in html  # two consents in 3 days
    # The chain's state and the open alerts (the outsider's refusals, two emergencies).
    assert "Waiting to be sealed" in html
    assert "Last signed checkpoint" in html
    assert html.count('<tr data-alert="') == 3
    assert "srn/alerts.js" in html
    assert "<script>" not in html
    assert " style=" not in html


def test_the_dashboard_read_is_one_audited_view(activity, members, browser):
    before = AuditEntry.objects.order_by("-seq").first().seq
    browser(members["compliance"]).get(DASHBOARD)
    (entry,) = AuditEntry.objects.filter(seq__gt=before)
    assert (entry.action, entry.object_type) == ("view", "compliance_dashboard")
    assert sorted(entry.detail["open_alerts"]) == sorted(Alert.objects.values_list("pk", flat=True))


def test_the_dashboard_keeps_the_content_security_policy(members, browser):
    response = browser(members["compliance"]).get(DASHBOARD)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "img-src 'self' data:" in policy  # the charts are data: images


@pytest.mark.parametrize("role", ["liaison", "caseworker", "admin", "network_admin"])
def test_only_compliance_officers_see_the_dashboard(role, members, browser):
    assert browser(members[role]).get(DASHBOARD).status_code == 403


def test_the_dashboard_counts_in_sql_whatever_the_number_of_entries(members, browser):
    officer = browser(members["compliance"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert officer.get(DASHBOARD).status_code == 200
        return len(context.captured_queries)

    queries()  # the session's first request stamps it: not the dashboard's own
    few = queries()
    for n in range(30):
        refused(members["outsider"] if n % 2 else members["liaison"])
    assert queries() == few


def test_an_alert_is_reviewed_and_acknowledged_with_a_note(members, browser):
    emergency(members["caseworker"], 1)
    alert = Alert.objects.get()
    officer = browser(members["compliance"])
    page = officer.get(f"/audit/alerts/{alert.pk}/").content.decode()
    assert "Emergency access" in page
    assert members["caseworker"].agency.slug in page
    response = officer.post(
        f"/audit/alerts/{alert.pk}/", {"note": "Confirmed with the shelter: a real emergency."}
    )
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    alert.refresh_from_db()
    assert alert.acknowledged_by_user_id == members["compliance"].user_id
    assert alert.note == "Confirmed with the shelter: a real emergency."
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == Action.ALERT_ACKNOWLEDGE
    page = officer.get(f"/audit/alerts/{alert.pk}/").content.decode()
    assert "Acknowledged by" in page
    assert "<form" not in page.split("Acknowledgement")[1]
    # The dashboard lists only open alerts.
    assert '<tr data-alert="' not in officer.get(DASHBOARD).content.decode()


def test_an_empty_note_is_refused_and_nothing_is_acknowledged(members, browser):
    emergency(members["caseworker"], 1)
    alert = Alert.objects.get()
    officer = browser(members["compliance"])
    officer.get(f"/audit/alerts/{alert.pk}/")
    response = officer.post(f"/audit/alerts/{alert.pk}/", {"note": ""})
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert not AuditEntry.objects.filter(action=Action.ALERT_ACKNOWLEDGE).exists()


def test_an_unknown_alert_page_is_a_404(members, browser):
    assert browser(members["compliance"]).get("/audit/alerts/424242/").status_code == 404


def test_the_agency_admin_sets_the_working_hours(members, browser):
    admin = browser(members["admin"])
    form = admin.get("/agency/profile/").content.decode()
    assert 'name="hours_start"' in form
    assert 'type="time"' in form
    response = admin.post(
        "/agency/profile/",
        {
            "services": ["shelter"],
            "regions": "metro",
            "languages": "en",
            "accepting_referrals": "on",
            "hours_start": "08:30",
            "hours_end": "18:00",
            "timezone": "Europe/Madrid",
        },
    )
    assert response.status_code == 302, response.content[:500]
    agency = Agency.objects.get(pk=members["admin"].agency_id)
    assert (agency.hours_start, agency.hours_end, agency.timezone) == (
        time(8, 30),
        time(18),
        "Europe/Madrid",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hours_start": "08:30"}, "hours_end"),
        ({"hours_end": "08:30"}, "hours_end"),
        ({"hours_start": "08:30", "hours_end": "08:30"}, "hours_end"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"hours_start": "25:00", "hours_end": "08:00"}, "hours_start"),
    ],
)
def test_working_hours_are_both_or_neither_and_valid(body, field, members, api):
    response = api(members["admin"]).patch(
        f"/api/v1/agencies/{members['admin'].agency_id}/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert Agency.objects.get(pk=members["admin"].agency_id).hours_start is None


def test_working_hours_over_the_api(members, api):
    response = api(members["admin"]).patch(
        f"/api/v1/agencies/{members['admin'].agency_id}/",
        {"hours_start": "22:00", "hours_end": "06:00", "timezone": "America/Chicago"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["hours_start"], body["hours_end"], body["timezone"]) == (
        "22:00:00",
        "06:00:00",
        "America/Chicago",
    )
    cleared = api(members["admin"]).patch(
        f"/api/v1/agencies/{members['admin'].agency_id}/",
        {"hours_start": None, "hours_end": None},
        format="json",
    )
    assert cleared.json()["hours_start"] is None


def test_consents_counted_are_active_ones(activity):
    assert Consent.objects.count() == 4
