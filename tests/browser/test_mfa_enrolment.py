"""A member sets up a second factor in a real browser and signs in with it.

The member reads the key the enrolment page shows (as a person would type it into an
authenticator app) and this test computes the app's code from it with django-otp's own
RFC 6238 function. Each page of the way is checked with axe-core (WCAG 2.2 AA) and
photographed into tests/browser/screenshots/ (ignored by git; demo data only).
"""

from __future__ import annotations

import re
import time
from base64 import b32decode

import pytest
from axe_playwright_python.sync_playwright import Axe
from django_otp.oath import totp

from tests.browser.conftest import PASSWORD, shoot

pytestmark = pytest.mark.browser

WCAG_AA = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
    }
}
STEP = 30


def assert_accessible(page) -> None:
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def app_code(key: bytes) -> str:
    return f"{totp(key):06d}"


def next_time_step() -> None:
    """A code works once: wait until the app shows the next one."""
    time.sleep(STEP - time.time() % STEP + 0.5)


def test_a_member_enrols_an_authenticator_and_signs_in_with_it(person, server):
    page = person("legal.worker")
    page.get_by_role("link", name="Second factor").click()
    page.wait_for_url(re.compile(r"/accounts/mfa/$"))
    qr = page.get_by_role("img", name=re.compile("QR code"))
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert_accessible(page)
    shoot(page, "20-mfa-enrol")
    key = b32decode(page.locator("#mfa-secret").inner_text().replace(" ", ""))

    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    assert page.get_by_text("That code is not valid").is_visible()
    assert_accessible(page)

    page.get_by_label("Code").fill(app_code(key))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your second factor is set up").wait_for()
    codes = page.get_by_role("list", name="Recovery codes").locator("li")
    assert codes.count() == 10
    assert_accessible(page)
    shoot(page, "21-mfa-recovery-codes")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    page.get_by_label("Username").fill("legal.worker")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/accounts/login/code/$"))
    assert_accessible(page)
    shoot(page, "22-mfa-code")
    next_time_step()
    page.get_by_label("Code").fill(app_code(key))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/inbox/$"))
    assert "legal.worker" in page.locator(".who").inner_text()
