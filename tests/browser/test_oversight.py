"""The oversight scenario in a real browser, against a real Daphne: a compliance
officer's open dashboard (charts as images with text alternatives and tables, the
chain's state) shows an access alert arrive without a reload — a caseworker was
refused five times within the hour — and the officer acknowledges it with a note.
Every page is axe-clean at desktop and phone width, and the browser reports no
Content-Security-Policy violation. Screenshots go to tests/browser/screenshots/
(ignored by git)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser

POLL_WAIT = 30_000  # ms: the dashboard polls for new alerts every 15 s
PHONE = {"width": 390, "height": 760}
DESKTOP = {"width": 1280, "height": 860}


def axe_clean(page, label: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        results = Axe().run(page)
        assert results.violations_count == 0, f"{label} at {size}: {results.generate_report()}"
    page.set_viewport_size(DESKTOP)


def test_dashboard_shows_an_alert_live_and_it_is_acknowledged(person):
    officer = person("compliance")
    policy_violations: list[str] = []
    officer.on(
        "console",
        lambda message: (
            policy_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )

    officer.goto("/audit/dashboard/")
    officer.get_by_role("heading", name="Compliance dashboard").wait_for()
    charts = officer.locator("figure.chart img.chart-image")
    assert charts.count() == 4
    for n in range(4):
        image = charts.nth(n)
        assert image.get_attribute("alt")
        # The image really rendered (an SVG its own <style> coloured), CSP or not.
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    officer.get_by_text("Table view").first.click()
    assert officer.locator("figure.chart table").first.is_visible()
    assert officer.get_by_text("Waiting to be sealed").is_visible()
    officer.evaluate("window.__srnNoReload = true")
    shoot(officer, "20-compliance-dashboard")
    axe_clean(officer, "dashboard")

    # A caseworker is refused five times within the hour: the refusals rule fires.
    worker = person("shelter.worker")
    for _ in range(5):
        assert worker.request.get("/api/v1/audit/entries/").status == 403

    # The open dashboard shows the new alert without a reload.
    row = officer.locator("tr[data-alert]", has_text="many refusals in an hour")
    row.wait_for(timeout=POLL_WAIT)
    assert officer.evaluate("window.__srnNoReload === true")
    assert "shelter.worker" in row.inner_text()
    assert officer.get_by_text("1 new alert.").is_visible()
    shoot(officer, "21-compliance-dashboard-alert")

    # The officer reviews it and acknowledges it with a note.
    row.get_by_role("link").click()
    officer.get_by_role("heading", name="Many refusals in an hour").wait_for()
    axe_clean(officer, "alert review")
    officer.get_by_label("Note").fill("Spoke with the shelter's admin: a mistyped bookmark.")
    shoot(officer, "22-compliance-alert-review")
    officer.get_by_role("button", name="Acknowledge").click()
    officer.get_by_text("acknowledged.").wait_for()
    assert officer.url.endswith("/audit/dashboard/")
    assert officer.locator("tr[data-alert]", has_text="many refusals in an hour").count() == 0
    axe_clean(officer, "dashboard after acknowledgement")

    # The acknowledgement is on the record.
    officer.goto("/audit/?action=alert_acknowledge")
    assert officer.locator("table.audit tbody tr").count() == 1
    assert not policy_violations, policy_violations
