"""Compliance officer and agency admin pages."""

from django.contrib.auth import get_user_model
from django.test import Client

from agencies.models import Membership
from tests.factories import PASSWORD, MemberFactory
from tests.web.conftest import entries_since, head


def test_audit_search_filters_by_survivor_ref_and_audits_the_search(released, members, browser):
    ref = released["survivor"].ref
    browser(members["caseworker"]).get(f"/referrals/{released['referral'].pk}/")
    before = head()
    page = browser(members["compliance"]).get("/audit/", survivor_ref=ref, action="view")
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('<tr class="outcome-') == 1
    assert members["caseworker"].user.username in body
    assert f"/api/v1/audit/entries/?action=view&amp;survivor_ref={ref}&amp;format=csv" in body
    (entry,) = entries_since(before)
    assert entry.action == "list"
    assert entry.object_type == "audit_entry"
    assert entry.detail["filters"] == {"survivor_ref": ref, "action": "view"}


def test_audit_search_refuses_a_malformed_filter(members, browser):
    page = browser(members["compliance"]).get("/audit/", since="yesterday", actor="x")
    assert page.status_code == 400
    assert b"Enter a whole number." in page.content


def test_audit_export_link_streams_through_the_audited_api(released, members, browser):
    client = browser(members["compliance"])
    body = client.get("/audit/").content.decode()
    link = body.split('href="/api/v1/audit/entries/?format=csv"')
    assert len(link) == 2
    before = head()
    response = client.client.get("/api/v1/audit/entries/?format=csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"seq,at,")
    assert entries_since(before)[0].action == "export"


def test_audit_pages_back_through_older_entries(members, browser):
    client = browser(members["compliance"])
    for _ in range(55):
        client.get("/audit/verify/")
    body = client.get("/audit/").content.decode()
    assert "Older entries" in body
    older = body.split('href="?')[1].split('"')[0].replace("&amp;", "&")
    assert older.startswith("cursor=")
    assert 'class="outcome-' in client.get(f"/audit/?{older}").content.decode()


def test_verification_page_shows_an_intact_chain(members, browser):
    page = browser(members["compliance"]).get("/audit/verify/")
    assert b"The audit chain is intact" in page.content


def test_admin_adds_a_member_changes_the_role_and_deactivates(members, agencies, browser):
    client = browser(members["admin"])
    response = client.post(
        "/members/",
        {"username": "new.worker", "password": "a-long-enough-passphrase", "role": "caseworker"},
        form_from="/members/",
    )
    assert response.status_code == 302
    added = Membership.objects.get(user__username="new.worker")
    assert added.agency == agencies["shelter"]
    client.post(f"/members/{added.pk}/role/", {"role": "liaison"}, form_from="/members/")
    added.refresh_from_db()
    assert added.role == "liaison"
    client.post(f"/members/{added.pk}/deactivate/", {}, form_from="/members/")
    added.refresh_from_db()
    assert not added.is_active
    assert not added.user.is_active
    assert b"deactivated" in client.get("/members/").content


def test_admin_form_errors_come_back_and_nothing_is_written(members, browser):
    client = browser(members["admin"])
    client.get("/members/")
    before = head()
    response = client.post(
        "/members/", {"username": "x", "password": "short", "role": "compliance_officer"}
    )
    assert response.status_code == 400
    assert b"Only a government (oversight) agency may have compliance officers." in response.content
    assert not get_user_model().objects.filter(username="x").exists()
    assert entries_since(before) == []


def test_admin_cannot_touch_another_agencys_member(members, agencies, browser):
    stranger = MemberFactory(agency=agencies["outsider"], role="caseworker")
    client = browser(members["admin"])
    response = client.post(f"/members/{stranger.pk}/deactivate/", {}, form_from="/members/")
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def test_the_admin_unlocks_a_locked_member_on_the_members_page(members, browser):
    username = members["caseworker"].user.username
    sign_in = Client()
    statuses = [
        sign_in.post("/accounts/login/", {"username": username, "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    admin = browser(members["admin"])
    page = admin.get("/members/")
    assert f"Unlock {username}".encode() in page.content
    assert b"sign-in locked until" in page.content
    response = admin.post(f"/members/{members['caseworker'].pk}/unlock/", {}, form_from="/members/")
    assert response.status_code == 302
    page = admin.get("/members/")
    assert f"{username} may sign in again.".encode() in page.content
    assert f"Unlock {username}".encode() not in page.content
    good = sign_in.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert good.status_code == 302


def test_admin_cannot_unlock_another_agencys_member(members, agencies, browser):
    stranger = MemberFactory(agency=agencies["outsider"], role="caseworker")
    client = browser(members["admin"])
    response = client.post(f"/members/{stranger.pk}/unlock/", {}, form_from="/members/")
    assert response.status_code == 404


def test_a_deactivated_members_role_cannot_change(members, agencies, browser):
    gone = MemberFactory(agency=agencies["shelter"], role="caseworker", is_active=False)
    client = browser(members["admin"])
    client.post(f"/members/{gone.pk}/role/", {"role": "liaison"}, form_from="/members/")
    gone.refresh_from_db()
    assert gone.role == "caseworker"
    assert (
        b"This member is deactivated: their role cannot be changed."
        in client.get("/members/").content
    )


def test_admin_cannot_deactivate_themself(members, browser):
    client = browser(members["admin"])
    client.post(f"/members/{members['admin'].pk}/deactivate/", {}, form_from="/members/")
    assert b"You cannot deactivate yourself." in client.get("/members/").content


def test_ledger_lists_each_disclosure_with_its_categories_and_consent(released, members, browser):
    ref = released["survivor"].ref
    browser(members["caseworker"]).get(f"/referrals/{released['referral'].pk}/")
    before = head()
    page = browser(members["compliance"]).get("/audit/ledger/", survivor_ref=ref)
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count("<tr>") == 2  # the header and the one disclosure
    assert "shelter" in body
    assert "identity" in body
    assert str(released["consent"].pk) in body
    assert "canary" not in body
    (entry,) = entries_since(before)
    assert (entry.action, entry.object_type, entry.survivor_ref) == ("list", "disclosure", ref)


def test_ledger_form_alone_reads_nothing_and_a_malformed_ref_is_refused(members, browser):
    client = browser(members["compliance"])
    before = head()
    assert client.get("/audit/ledger/").status_code == 200
    response = client.get("/audit/ledger/", survivor_ref="Robert'); DROP")
    assert response.status_code == 400
    assert b"A survivor ref looks like S-7F3K92QD." in response.content
    assert entries_since(before) == []
