"""Browser tests: a real Daphne serving the embedded profile from its own temporary
data dir, and Debian's Chromium driven by Playwright (never a downloaded browser).

Daphne runs as a subprocess, exactly as ``deploy/run-embedded.sh`` serves the app:
its own SQLite file (migrated and seeded with ``seed_demo``), its in-memory channel
layer, WebSockets included. Nothing is shared with the test process but HTTP, so no
test-database transaction can hide a write from the server or vice versa.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.processes import DAPHNE, ROOT, free_port, wait_healthy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-demo-password-2026"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
START_TIMEOUT = 60


def pytest_collection_modifyitems(config, items):
    """The embedded pass runs them; the production pass would only repeat them against
    the same embedded subprocess, so there they are deselected (reported), not run."""
    from django.conf import settings

    if not settings.PRODUCTION:
        return
    browser = [item for item in items if item.get_closest_marker("browser") is not None]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if item.get_closest_marker("browser") is None]


class Server:
    def __init__(self, origin: str, env: dict, data_dir: str):
        self.origin, self.env, self.data_dir = origin, env, data_dir

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def server():
    data_dir = tempfile.mkdtemp(prefix="srn-browser-")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("SRN_PROFILE", "DATABASE_URL", "KEYS_DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG")
    }
    env.update(
        SRN_DATA_DIR=data_dir,
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=origin,
        WEBSOCKET_ALLOWED_ORIGINS=origin,
        PYTHONUNBUFFERED="1",
    )
    running = Server(origin, env, data_dir)
    for step in (
        ("migrate", "--noinput", "-v", "0"),
        ("migrate", "--database", "keys", "--noinput", "-v", "0"),
        ("seed_demo", "--password", PASSWORD),
    ):
        done = running.manage(*step)
        assert done.returncode == 0, f"{step[0]} failed:\n{done.stderr[-2000:]}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    daphne = subprocess.Popen(
        [str(DAPHNE), "-b", "127.0.0.1", "-p", str(port), "srn.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(port, daphne, log, timeout=START_TIMEOUT)
        yield running
    finally:
        daphne.terminate()
        try:
            daphne.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daphne.kill()
            daphne.wait(timeout=10)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        # A non-persistent launch: Playwright gives Chromium a fresh, empty profile.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def person(chromium, server):
    """``person("liaison")``: a signed-in page in its own browser context (own cookies)."""
    contexts = []

    def sign_in(username: str, *, screenshot: str | None = None, keyboard: bool = False):
        context = chromium.new_context(
            viewport={"width": 1280, "height": 860}, base_url=server.origin
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/accounts/login/")
        if keyboard:  # keys only: the username field has focus, Tab moves, Enter submits
            page.keyboard.type(username)
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            with page.expect_navigation():
                page.keyboard.press("Enter")
        else:
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(PASSWORD)
            if screenshot:
                shoot(page, screenshot)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, f"{username} could not sign in"
        return page

    yield sign_in
    for context in contexts:
        context.close()


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
