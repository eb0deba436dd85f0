"""Caseworker pages: the inbox and the referral page show only released fields; the
actions and notes go through the services."""

from coordination.models import CaseNote
from tests.web.conftest import entries_since, head


def test_inbox_lists_released_referrals_with_only_released_fields(released, members, browser):
    before = head()
    page = browser(members["caseworker"]).get("/inbox/")
    body = page.content.decode()
    assert released["survivor"].ref in body
    assert "canary-given" in body  # identity is released
    assert "canary-phone" not in body
    assert "canary-narrative" not in body
    (entry,) = entries_since(before)
    assert entry.action == "list"
    assert entry.detail["filters"]["items"][0]["categories"] == ["identity"]
    assert entry.detail["filters"]["items"][0]["consents"] == [str(released["consent"].pk)]


def test_inbox_is_empty_for_a_recipient_without_consent(released, members, browser):
    body = browser(members["legal_caseworker"]).get("/inbox/").content.decode()
    assert released["survivor"].ref not in body
    assert "Nothing in your inbox" in body


def test_page_carries_the_outbox_position_for_live_updates(released, members, browser):
    from coordination.models import StreamCounter

    # The page carries its agency's stream position, not another agency's.
    StreamCounter.objects.update_or_create(
        agency=members["caseworker"].agency, defaults={"seq": 41}
    )
    StreamCounter.objects.update_or_create(agency=members["liaison"].agency, defaults={"seq": 97})
    page = browser(members["caseworker"]).get("/inbox/").content.decode()
    assert 'data-seq="41"' in page
    assert 'data-live-src="/inbox/table/"' in page
    fragment = browser(members["caseworker"]).get("/inbox/table/").content.decode()
    assert "<html" not in fragment
    assert released["survivor"].ref in fragment


def test_referral_page_shows_only_released_fields_and_marks_it_received(
    released, agencies, members, browser
):
    referral = released["referral"]
    before = head()
    body = browser(members["caseworker"]).get(f"/referrals/{referral.pk}/").content.decode()
    assert "canary-given" in body
    assert "canary-family" in body
    assert "canary-phone" not in body
    assert "canary-narrative" not in body
    (entry,) = entries_since(before)
    assert (entry.action, entry.object_id) == ("view", str(referral.pk))
    assert entry.categories == ["identity"]
    assert referral.recipients.get(agency=agencies["shelter"]).status == "received"
    assert ">Accept<" in body
    assert ">Decline<" in body
    assert ">Start services<" not in body


def test_recipient_does_not_learn_which_other_agencies_were_asked(released, members, browser):
    body = browser(members["caseworker"]).get(f"/referrals/{released['referral'].pk}/")
    assert b"Legal" not in body.content


def test_caseworker_accepts_then_starts_then_completes_with_an_outcome(
    released, agencies, members, browser
):
    referral = released["referral"]
    url = f"/referrals/{referral.pk}/"
    client = browser(members["caseworker"])
    for action, extra in (("accept", {}), ("start", {}), ("complete", {"outcome": "housed"})):
        client.get(url)
        etag = client.client.get(url).content.decode().split('name="etag" value="')[1][:20]
        response = client.post(f"{url}transition/", {"action": action, "etag": etag, **extra})
        assert response.status_code == 302
    assert referral.recipients.get(agency=agencies["shelter"]).status == "completed"


def test_decline_without_a_reason_is_refused_and_changes_nothing(
    released, agencies, members, browser
):
    referral = released["referral"]
    client = browser(members["caseworker"])
    url = f"/referrals/{referral.pk}/"
    before = head()
    response = client.post(f"{url}transition/", {"action": "reject"}, form_from=url)
    assert response.status_code == 302
    assert referral.recipients.get(agency=agencies["shelter"]).status == "received"
    assert [e.action for e in entries_since(before)] == ["view"]  # only the page read
    assert b"reason: Required for this action." in client.get(url).content


def test_an_action_on_a_stale_page_is_refused(released, agencies, members, browser):
    referral = released["referral"]
    client = browser(members["caseworker"])
    url = f"/referrals/{referral.pk}/"
    client.get(url)
    response = client.post(f"{url}transition/", {"action": "accept", "etag": "0" * 20})
    assert response.status_code == 302
    assert referral.recipients.get(agency=agencies["shelter"]).status == "received"
    assert b"changed since you opened it" in client.get(url).content


def test_illegal_action_reads_as_a_message_not_a_crash(released, agencies, members, browser):
    referral = released["referral"]
    client = browser(members["caseworker"])
    url = f"/referrals/{referral.pk}/"
    client.post(f"{url}transition/", {"action": "complete", "outcome": "x"}, form_from=url)
    assert b"Cannot complete a referral whose status is received" in client.get(url).content


def test_unreleased_recipient_cannot_act_or_add_notes(released, members, browser):
    referral = released["referral"]
    client = browser(members["legal_caseworker"])
    url = f"/referrals/{referral.pk}/"
    assert (
        client.post(f"{url}transition/", {"action": "accept"}, form_from="/inbox/").status_code
        == 404
    )
    assert client.post(f"{url}notes/", {"text": "x"}, form_from="/inbox/").status_code == 404
    assert not CaseNote.objects.exists()


def test_caseworker_adds_a_note_and_the_referrer_sees_it_only_under_case_notes(
    released, members, browser
):
    referral = released["referral"]
    url = f"/referrals/{referral.pk}/"
    worker = browser(members["caseworker"])
    response = worker.post(f"{url}notes/", {"text": "canary-note"}, form_from=url)
    assert response.status_code == 302
    assert b"canary-note" in worker.get(url).content
    liaison = browser(members["liaison"])
    assert b"canary-note" not in liaison.get(url).content  # no case_notes consent


def test_liaison_sees_status_updates_only_under_consent(released, agencies, members, browser):
    referral = released["referral"]
    referral.recipients.filter(agency=agencies["shelter"]).update(status="accepted")
    body = browser(members["liaison"]).get("/referrals/outgoing/").content.decode()
    assert "accepted" in body  # status_updates was consented
    released["consent"].categories = ["identity"]
    released["consent"].save()
    body = browser(members["liaison"]).get("/referrals/outgoing/").content.decode()
    assert "accepted" not in body
    assert "requested" in body
