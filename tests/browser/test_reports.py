"""The network report in a real browser, against a real Daphne: a network admin reads
the report by urgency (charts as images with text alternatives, their table views, the
whole table with its withheld cells), switches the grouping, downloads the CSV; an
agency admin reads its own agency's. Every page is axe-clean at desktop and phone
width, and the browser reports no Content-Security-Policy violation. Screenshots go to
tests/browser/screenshots/ (ignored by git; fake demo data only)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 760}
DESKTOP = {"width": 1280, "height": 860}
# 36 demo referrals from the police liaison to the shelter (12 per urgency, two regions,
# every one with shelter among its needs), consented; the shelter accepts 24 and
# declines 12. Seeded through the services, as the app writes them.
SEED = """
from datetime import timedelta
from django.utils import timezone
from agencies.models import Agency, Membership
from consent import services as consent_services
from coordination import services
liaison = Membership.objects.get(user__username="liaison")
worker = Membership.objects.get(user__username="shelter.worker")
shelter = Agency.objects.get(slug="safe-harbor")
for n in range(36):
    survivor = consent_services.survivor_create(actor=liaison, data={"given_name": "Demo"})
    services.consent_record(
        actor=liaison, survivor_id=survivor.id, recipients=[shelter.id],
        categories=["identity", "status_updates"], method="written",
        evidence_sha256="ab" * 32, language="en", interpreter_used=False,
        notice_version="demo", services_not_conditional=True, signed_by="survivor",
        expires_at=timezone.now() + timedelta(days=30),
    )
    referral = services.referral_create(
        actor=liaison, survivor_id=survivor.id, recipients=[shelter.id],
        needs=["shelter"] + (["legal"] if n % 2 else []),
        urgency=("emergency", "high", "routine")[n % 3], region=("north", "south")[n % 2],
    )
    services.referral_transition(
        actor=worker, referral_id=referral.id, action="accept" if n < 24 else "reject",
        reason="" if n < 24 else "No capacity (demo)",
    )
"""


def axe_clean(page, label: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        results = Axe().run(page)
        assert results.violations_count == 0, f"{label} at {size}: {results.generate_report()}"
    page.set_viewport_size(DESKTOP)


def watch_policy(page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def test_admins_read_the_de_identified_report_with_charts_tables_and_csv(person, server):
    seeded = server.manage("shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr[-2000:]

    admin = person("network.admin")
    violations = watch_policy(admin)
    admin.get_by_role("link", name="Reports").click()
    admin.get_by_label("Group by").select_option("urgency")
    admin.get_by_role("button", name="Show report").click()
    admin.get_by_role("heading", name="Referrals by urgency").wait_for()
    charts = admin.locator("figure.chart img.chart-image")
    assert charts.count() == 1  # rates and hours: every value withheld, not drawn
    assert charts.first.get_attribute("alt")
    assert charts.first.evaluate("img => img.complete && img.naturalWidth > 0")
    table = admin.get_by_role("region", name="The whole report")
    rows = table.locator("tbody tr")
    assert rows.count() == 4  # three urgencies and the total
    assert rows.nth(0).locator("td").nth(0).inner_text() == "12"  # emergency referrals
    assert "<11" in table.inner_text()  # 8 accepted per urgency: withheld
    assert admin.get_by_text("Not drawn, every value withheld").is_visible()
    axe_clean(admin, "report by urgency")

    admin.get_by_label("Group by").select_option("region")
    admin.get_by_role("button", name="Show report").click()
    admin.get_by_role("heading", name="Referrals by region").wait_for()
    assert admin.locator("figure.chart img.chart-image").count() == 3
    table = admin.get_by_role("region", name="The whole report")
    north = table.locator("tbody tr").nth(0)
    assert [cell.inner_text() for cell in north.locator("td").all()[:4]] == [
        "18",
        "18",
        "12",
        "<11",
    ]  # referrals, requests, accepted; 6 declined are withheld
    admin.get_by_text("Table view").first.click()
    assert admin.locator("figure.chart table").first.is_visible()
    shoot(admin, "30-network-admin-report")
    axe_clean(admin, "report by region")
    admin.set_viewport_size(PHONE)
    shoot(admin, "30b-network-admin-report-phone")
    admin.set_viewport_size(DESKTOP)

    link = admin.get_by_role("link", name="Download CSV")
    response = admin.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text().splitlines()[0].startswith("region,referrals,requests")

    shelter = person("shelter.admin")
    violations += watch_policy(shelter)
    shelter.goto("/reports/?group_by=region")
    shelter.get_by_text("Referrals your agency (safe-harbor) sent or received").wait_for()
    shoot(shelter, "31-agency-admin-report")
    axe_clean(shelter, "agency report by region")
    assert violations == []
