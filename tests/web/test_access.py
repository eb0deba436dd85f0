"""Who may open which page: anonymous -> login, wrong role -> 403 (audited), other
agency's objects -> 404 (audited), and every page read writes exactly one entry."""

import pytest
from django.test import Client

from consent.models import Survivor
from tests.web.conftest import entries_since, head

PAGES = {
    "/survivors/": {"liaison"},
    "/referrals/new/": {"liaison"},
    "/referrals/outgoing/": {"liaison"},
    "/referrals/outgoing/table/": {"liaison"},
    "/inbox/": {"caseworker"},
    "/inbox/table/": {"caseworker"},
    "/audit/": {"compliance"},
    "/audit/verify/": {"compliance"},
    "/members/": {"admin"},
}
ROLES = ("liaison", "caseworker", "admin", "compliance")


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitor_is_sent_to_login(url, client, db):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_each_page_opens_for_its_role_only_and_writes_one_entry(url, role, members, browser):
    before = head()
    response = browser(members[role]).get(url)
    written = entries_since(before)
    assert len(written) == 1
    if role in PAGES[url]:
        assert response.status_code == 200
        assert written[0].outcome == "allowed"
    else:
        assert response.status_code == 403
        assert b"Not available to your role" in response.content
        assert (written[0].action, written[0].outcome) == ("denied", "denied")
        assert written[0].actor_username == members[role].user.username


def test_home_sends_each_role_to_its_start_page(members, browser):
    starts = {
        "liaison": "/referrals/outgoing/",
        "caseworker": "/inbox/",
        "admin": "/members/",
        "compliance": "/audit/",
    }
    for role, start in starts.items():
        assert browser(members[role]).get("/")["Location"] == start


def test_navigation_offers_only_the_roles_pages(members, browser):
    page = browser(members["caseworker"]).get("/inbox/").content.decode()
    assert 'href="/inbox/"' in page
    assert 'href="/survivors/"' not in page
    assert 'href="/audit/"' not in page


def test_another_agencys_survivor_is_not_found_and_the_denial_is_audited(
    released, members, agencies, browser
):
    from tests.factories import MemberFactory

    other_liaison = MemberFactory(agency=agencies["outsider"], role="liaison")
    survivor = released["survivor"]
    for url in (f"/survivors/{survivor.pk}/", f"/survivors/{survivor.pk}/consents/"):
        before = head()
        response = browser(other_liaison).get(url)
        assert response.status_code == 404
        assert b"canary" not in response.content
        (entry,) = entries_since(before)
        assert (entry.action, entry.object_type, entry.object_id) == (
            "denied",
            "survivor",
            str(survivor.pk),
        )


def test_unreleased_referral_is_not_found_for_the_recipient_and_the_outsider(
    released, members, browser
):
    url = f"/referrals/{released['referral'].pk}/"
    for role in ("legal_caseworker", "outsider"):
        before = head()
        response = browser(members[role]).get(url)
        assert response.status_code == 404
        assert b"canary" not in response.content
        (entry,) = entries_since(before)
        assert (entry.action, entry.outcome, entry.object_type) == (
            "denied",
            "denied",
            "referral",
        )


def test_forms_refuse_a_post_without_the_csrf_token(members, browser):
    client = browser(members["liaison"])
    before = head()
    response = client.post("/survivors/", {"given_name": "Test"}, csrf=False)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not Survivor.objects.exists()
    (entry,) = entries_since(before)
    assert (entry.action, entry.detail["code"]) == ("denied", "csrf_failed")


def test_a_browser_gets_an_html_page_for_a_refused_form_and_the_api_json(members, browser):
    client = browser(members["liaison"])
    before = head()
    page = client.client.post(
        "/survivors/", {"given_name": "Test"}, HTTP_ACCEPT="text/html,application/xhtml+xml"
    )
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")
    assert b"reload the page and try again" in page.content
    assert not Survivor.objects.exists()
    (entry,) = entries_since(before)
    assert (entry.action, entry.detail["code"]) == ("denied", "csrf_failed")

    missing = client.client.get("/no-such-page/", HTTP_ACCEPT="text/html")
    assert missing.status_code == 404
    assert b"Not found" in missing.content
    api = client.client.get("/api/v1/no-such-thing/", HTTP_ACCEPT="text/html")
    assert api.status_code == 404
    assert api.json()["code"] == "not_found"


def test_logout_needs_post_and_ends_the_session(members, browser):
    client = browser(members["liaison"])
    assert client.client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/", form_from="/referrals/outgoing/")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/referrals/outgoing/").status_code == 302


def test_home_only_redirects_and_refuses_other_methods(members, browser):
    client = Client()  # not enforcing CSRF: the method check is what is tested
    client.force_login(members["liaison"].user)
    before = head()
    assert client.head("/").status_code == 302
    for method in ("post", "put", "patch", "delete", "options"):
        assert getattr(client, method)("/").status_code == 405
    assert entries_since(before) == []
