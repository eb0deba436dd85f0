"""Every page's form controls have a label, pages have one h1 and a language, and the
live pages load only local assets (no CDN)."""

from html.parser import HTMLParser

import pytest

PAGES = [
    ("liaison", "/survivors/"),
    ("liaison", "/referrals/new/"),
    ("liaison", "/referrals/outgoing/"),
    ("liaison", "survivor"),
    ("liaison", "consents"),
    ("liaison", "referral"),
    ("caseworker", "/inbox/"),
    ("caseworker", "referral"),
    ("caseworker", "emergency"),
    ("liaison", "disclosures"),
    ("compliance", "/emergency-access/"),
    ("compliance", "/audit/"),
    ("compliance", "/audit/verify/"),
    ("compliance", "/audit/dashboard/"),
    ("admin", "/agency/profile/"),
    ("admin", "/members/"),
    ("admin", "/reports/"),
    ("network_admin", "/reports/"),
]


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls, self.labelled, self.h1, self.wrapping = [], set(), 0, 0
        self.assets, self.lang = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "label":
            if attrs.get("for"):
                self.labelled.add(attrs["for"])
            else:
                self.wrapping += 1
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append(attrs.get("id") or f"<unlabelled {tag} {attrs.get('name')}>")
        if tag in ("script", "link", "img") and (attrs.get("src") or attrs.get("href")):
            self.assets.append(attrs.get("src") or attrs.get("href"))


def _url(name, released):
    survivor, referral = released["survivor"].pk, released["referral"].pk
    return {
        "survivor": f"/survivors/{survivor}/",
        "consents": f"/survivors/{survivor}/consents/",
        "referral": f"/referrals/{referral}/",
        "emergency": f"/referrals/{referral}/emergency-access/",
        "disclosures": f"/survivors/{survivor}/disclosures/",
    }.get(name, name)


@pytest.mark.parametrize(("role", "page"), PAGES)
def test_pages_label_every_control_and_load_only_local_assets(
    role, page, released, members, browser
):
    response = browser(members[role]).get(_url(page, released))
    assert response.status_code == 200
    parsed = Controls()
    parsed.feed(response.content.decode())
    unlabelled = [c for c in parsed.controls if c not in parsed.labelled]
    assert unlabelled == []
    assert parsed.h1 == 1
    assert parsed.lang == "en"
    # Local files, or the charts' SVG inlined as data: images (nothing is fetched).
    local = ("/", "data:image/svg+xml;base64,")
    assert all(asset.startswith(local) for asset in parsed.assets), parsed.assets


def test_login_page_labels_its_fields(client, db):
    parsed = Controls()
    parsed.feed(client.get("/accounts/login/").content.decode())
    assert parsed.controls == ["id_username", "id_password"]
    assert set(parsed.controls) <= parsed.labelled


def test_pages_carry_a_content_security_policy_of_their_own_origin(members, browser, client, db):
    for response in (
        browser(members["caseworker"]).get("/inbox/"),
        client.get("/accounts/login/"),
    ):
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
