"""The acceptance scenario in a real browser, against a real Daphne:

a liaison creates a survivor, records consent and refers; the caseworker's open inbox
shows the referral arrive without a reload; the caseworker accepts; the liaison's
open outgoing page updates live; a revocation makes the referral vanish from the
caseworker's open inbox; a compliance officer finds every one of those accesses, in
the audit search and in the survivor's disclosure ledger; deactivating the caseworker
sends their open page to the sign-in form.
Screenshots of each main page go to tests/browser/screenshots/ (ignored by git; fake demo
data only). The README shows a curated copy from docs/screenshots/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser

SHELTER = "Safe Harbor Shelter"
LIVE_WAIT = 10_000  # ms: a live update must land well within this


def wait_live(page) -> None:
    """The page's socket has replayed and is live (``ready`` received)."""
    page.wait_for_selector("body[data-live='ready']", timeout=LIVE_WAIT)


def mark_loaded(page) -> None:
    # A reload would lose this: checking it later proves the update came without one.
    page.evaluate("window.__srnNoReload = true")


def still_same_load(page) -> bool:
    return page.evaluate("window.__srnNoReload === true")


def test_referral_workflow_updates_live_and_every_access_is_on_the_record(person, server):
    liaison = person("liaison", screenshot="01-login")
    worker = person("shelter.worker")

    # The caseworker's inbox is open and live before anything exists.
    worker.goto("/inbox/")
    wait_live(worker)
    mark_loaded(worker)

    # 1. Survivor profile.
    liaison.goto("/survivors/")
    liaison.get_by_label("Given name").fill("Demo")
    liaison.get_by_label("Family name").fill("Person-One")
    liaison.get_by_label("Phone").fill("+1 555 0100")
    liaison.get_by_label("Safe contact instructions").fill("Text only (demo)")
    liaison.get_by_label("Preferred language").fill("es")
    shoot(liaison, "02-liaison-survivor-form")
    liaison.get_by_role("button", name="Create profile").click()
    liaison.wait_for_url(re.compile(r"/survivors/[0-9a-f-]{36}/$"))
    ref = liaison.locator("h1 .ref").inner_text().strip()
    assert re.fullmatch(r"S-[A-Z0-9]{8}", ref)
    shoot(liaison, "03-liaison-survivor-profile")

    # 2. Consent: identity, contact and status updates to the shelter, for 90 days.
    liaison.get_by_role("link", name="Consents").click()
    for category in ("Identity", "Contact", "Status Updates"):
        liaison.get_by_label(re.compile(rf"^{category} \(.*\) to {SHELTER}$")).check()
    liaison.get_by_label("How consent was given").select_option("verbal_witnessed")
    liaison.get_by_label("Language of the conversation").fill("es")
    liaison.get_by_label("Version of the notice shown").fill("2026-01")
    liaison.get_by_label("Signed by").select_option("survivor")
    expires = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M")
    liaison.get_by_label("Expires at (UTC)").fill(expires)
    liaison.get_by_label("Evidence SHA-256").fill("ab" * 32)
    liaison.get_by_label("An interpreter was used").check()
    liaison.get_by_label("The survivor was told that services do not depend").check()
    shoot(liaison, "04-liaison-consent-form")
    liaison.get_by_role("button", name="Record consent").click()
    liaison.get_by_text("1 consent record(s) saved.").wait_for()

    # 3. Referral to the shelter.
    liaison.goto("/referrals/new/")
    liaison.get_by_label("Survivor (by reference)").select_option(label=ref)
    liaison.get_by_label(SHELTER).check()
    liaison.get_by_label("Shelter", exact=True).check()
    liaison.get_by_label("Safety Planning").check()
    liaison.get_by_label("Urgency").select_option("high")
    liaison.get_by_label("Region").fill("metro")
    liaison.get_by_label("Narrative").fill("Demo narrative: needs a safe bed tonight.")
    shoot(liaison, "05-liaison-referral-form")
    liaison.get_by_role("button", name="Send referral").click()
    liaison.wait_for_url(re.compile(r"/referrals/[0-9a-f-]{36}/$"))
    referral_url = liaison.url

    # 4. It arrives in the caseworker's open inbox without a reload.
    row = worker.locator("tr[data-referral]", has_text=ref)
    row.wait_for(timeout=LIVE_WAIT)
    assert still_same_load(worker)
    assert "Demo Person-One" in row.inner_text()  # identity released
    shoot(worker, "06-caseworker-inbox")
    worker.set_viewport_size({"width": 390, "height": 760})  # a phone: the table reflows
    shoot(worker, "06b-caseworker-inbox-phone")
    worker.set_viewport_size({"width": 1280, "height": 860})

    # The liaison watches the outgoing list.
    liaison.goto("/referrals/outgoing/")
    wait_live(liaison)
    mark_loaded(liaison)
    liaison_row = liaison.locator("tr[data-referral]", has_text=ref)
    assert "requested" in liaison_row.inner_text()

    # 5. The caseworker opens it (only released fields) and accepts.
    worker.get_by_role("link", name=re.compile(ref)).click()
    worker.wait_for_url(referral_url)
    body = worker.locator("main").inner_text()
    assert "+1 555 0100" in body  # contact released
    assert "needs a safe bed" not in body  # narrative not released
    shoot(worker, "07-caseworker-referral")
    worker.get_by_role("button", name="Accept").click()
    worker.get_by_text("Done: accept.").wait_for()

    # 6. The liaison's open page shows "accepted" (status_updates was consented), live.
    liaison_row.locator(".status", has_text="accepted").wait_for(timeout=LIVE_WAIT)
    assert still_same_load(liaison)
    shoot(liaison, "08-liaison-outgoing")

    # 7. Revocation: the referral vanishes from the caseworker's open inbox.
    worker.goto("/inbox/")
    wait_live(worker)
    mark_loaded(worker)
    assert worker.locator("tr[data-referral]", has_text=ref).count() == 1
    # ... and, in another tab, the referral itself is open.
    worker_tab = worker.context.new_page()
    worker_tab.goto(referral_url)
    wait_live(worker_tab)
    liaison.goto("/survivors/")
    liaison.locator("tr", has_text=ref).get_by_role("link", name="Consents").click()
    liaison.get_by_label("Reason").fill("Asked by phone (demo)")
    liaison.get_by_label("How the survivor told you").select_option("oral")
    liaison.get_by_role("button", name="Revoke now").click()
    liaison.get_by_text("Consent revoked. Access ended now.").wait_for()
    worker.locator("tr[data-referral]", has_text=ref).wait_for(state="detached", timeout=LIVE_WAIT)
    assert still_same_load(worker)
    assert ref not in worker.locator("main").inner_text()
    # The open referral page drops the released fields from the screen too.
    worker_tab.get_by_role("heading", name="Access to this referral has ended").wait_for(
        timeout=LIVE_WAIT
    )
    assert "+1 555 0100" not in worker_tab.content()
    shoot(worker_tab, "07b-caseworker-referral-after-revocation")

    # 8. The compliance officer finds every access, by survivor ref.
    officer = person("compliance", keyboard=True)
    officer.get_by_label("Survivor ref").fill(ref)
    officer.get_by_role("button", name="Search").click()
    table = officer.locator("table.audit")
    table.wait_for()
    rows = [r.inner_text() for r in table.locator("tbody tr").all()]
    found = {(who, action) for who, action in (_who_and_action(r) for r in rows)}
    for expected in (
        ("liaison", "create"),  # the profile and the referral
        ("liaison", "view"),  # reading the profile
        ("liaison", "consent_record"),
        ("shelter.worker", "view"),  # opening it
        ("shelter.worker", "transition"),  # accepting it
        ("liaison", "consent_revoke"),
    ):
        assert expected in found, f"{expected} not in the audit search for {ref}: {found}"
    assert "Demo" not in table.inner_text()  # no PII in the trail
    shoot(officer, "09-compliance-audit-search")
    # Lists name each referral's ref in their detail: the inbox and the outgoing list.
    for agency in ("safe-harbor", "metro-police"):
        officer.goto(f"/audit/?agency={agency}&action=list")
        assert ref in officer.locator("table.audit").inner_text(), f"{agency} list of {ref}"
    # The disclosure ledger: every time the survivor's data reached the shelter.
    officer.get_by_role("link", name="Disclosure ledger").click()
    officer.get_by_label("Survivor ref").fill(ref)
    officer.get_by_role("button", name="Show ledger").click()
    ledger = officer.locator("table.ledger")
    ledger.wait_for()
    lines = [r.inner_text() for r in ledger.locator("tbody tr").all()]
    to_shelter = [line for line in lines if "safe-harbor" in line]
    assert any("view referral" in line for line in to_shelter), lines
    assert any("list referral" in line for line in to_shelter), lines  # the inbox
    assert all("contact, identity" in line for line in to_shelter), lines
    assert not any("metro-police" in line for line in lines)  # the owner is not "another"
    shoot(officer, "10-compliance-ledger")
    officer.get_by_role("link", name="Chain verification").click()
    officer.get_by_text("The audit chain is intact").wait_for()
    shoot(officer, "11-compliance-verify")

    admin = person("shelter.admin")
    admin.get_by_role("heading", name=f"Members of {SHELTER}").wait_for()
    shoot(admin, "12-admin-members")

    # 9. Deactivating the caseworker closes their open page's socket at once, and the
    # page goes to the sign-in form instead of retrying.
    worker.goto("/inbox/")
    wait_live(worker)
    admin.get_by_role("button", name="Deactivate shelter.worker").click()
    admin.get_by_role("heading", name=f"Members of {SHELTER}").wait_for()
    worker.wait_for_url(re.compile(r"/accounts/login/"), timeout=LIVE_WAIT)

    verified = server.manage("verify_audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _who_and_action(row_text: str) -> tuple[str, str]:
    cells = row_text.split("\t")
    return cells[2].split(" ")[0].strip(), cells[3].strip()
