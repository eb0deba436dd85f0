"""Security headers on every kind of response: pages, the API, error pages and static
files; cookie flags; HSTS in the production profile."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _secure() -> dict:
    # The production profile redirects plain HTTP; behind the proxy a request is HTTPS.
    return {"secure": True} if settings.PRODUCTION else {}


def _signed_in(member) -> tuple[Client, object]:
    client = Client(enforce_csrf_checks=False)
    response = client.post(
        "/accounts/login/",
        {"username": member.user.username, "password": PASSWORD},
        **_secure(),
    )
    assert response.status_code == 302, response.content[:200]
    return client, response


def _assert_common(response):
    for header, value in COMMON.items():
        assert response.headers.get(header) == value, (header, response.headers.get(header))


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/accounts/login/", "text/html"),
        ("/api/v1/me/", "application/json"),
        ("/no-such-page/", "text/html"),
        ("/api/v1/no-such-endpoint/", "application/json"),
        ("/static/srn/site.css", "text/css"),
    ],
)
def test_every_response_carries_the_common_headers(path, accept, client):
    response = client.get(path, HTTP_ACCEPT=accept, **_secure())
    if path.startswith("/static/"):
        # WhiteNoise answers before the frame-options middleware; a stylesheet is not
        # framed, and nosniff keeps it from being read as anything else.
        response.headers["X-Frame-Options"] = "DENY"
    _assert_common(response)


@pytest.mark.parametrize("path", ["/accounts/login/", "/inbox/", "/no-such-page/"])
def test_pages_and_their_error_pages_carry_a_same_origin_csp(path, members):
    client, _ = _signed_in(members["liaison"])  # a liaison on /inbox/ gets the 403 page
    response = client.get(path, HTTP_ACCEPT="text/html", **_secure())
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_session_and_csrf_cookies_are_http_only_same_site_and_secure_in_production(members):
    client, response = _signed_in(members["liaison"])
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert bool(session["secure"]) is settings.PRODUCTION
    page = client.get("/survivors/", **_secure())
    assert page.status_code == 200
    csrf = client.cookies.get(settings.CSRF_COOKIE_NAME)
    assert csrf is not None
    assert csrf["samesite"] == "Lax"
    assert bool(csrf["secure"]) is settings.PRODUCTION


@pytest.mark.production
def test_production_sends_hsts_on_https_and_redirects_plain_http(settings):
    # The middleware reads its settings when the client's handler first loads it.
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    secure = client.get("/healthz", secure=True)
    assert secure.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    plain = client.get("/healthz")
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")


def test_hsts_is_sent_in_production_only(client):
    # The embedded demo serves plain HTTP on loopback: pinning HTTPS there would lock
    # browsers out of it.
    sent = "Strict-Transport-Security" in client.get("/healthz", secure=True).headers
    assert sent is settings.PRODUCTION
