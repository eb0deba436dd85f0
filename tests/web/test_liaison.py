"""Liaison pages: survivor profiles, consent (record, revoke), new referrals. Invalid
input shows the service's message next to its field and writes nothing."""

from datetime import UTC, datetime, timedelta

from consent.models import Consent, ConsentRevocation, Survivor
from coordination.models import Referral
from tests.web.conftest import consent_post, entries_since, head


def test_liaison_creates_a_survivor_and_the_create_is_audited_without_pii(members, browser):
    client = browser(members["liaison"])
    before = head()
    response = client.post(
        "/survivors/",
        {"given_name": "canary-web-given", "phone": "canary-web-phone"},
        form_from="/survivors/",
    )
    survivor = Survivor.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/survivors/{survivor.pk}/"
    (entry,) = entries_since(before + 1)  # after the GET's list entry
    assert (entry.action, entry.survivor_ref) == ("create", survivor.ref)
    assert entry.categories == ["contact", "identity"]
    assert "canary" not in str(entry.detail)
    page = client.get(response["Location"])
    assert b"canary-web-given" in page.content
    assert survivor.ref.encode() in client.get("/survivors/").content


def test_survivor_without_a_name_is_refused_next_to_the_field_and_nothing_is_written(
    members, browser
):
    client = browser(members["liaison"])
    client.get("/survivors/")
    before = head()
    response = client.post("/survivors/", {"phone": "canary-phone", "date_of_birth": "1990-01-01"})
    assert response.status_code == 400
    assert b"Give at least one name" in response.content
    assert b"Nothing was saved" in response.content
    assert not Survivor.objects.exists()
    assert entries_since(before) == []


def test_consent_grid_records_one_consent_per_distinct_choice_and_releases_the_referral(
    released, agencies, members, browser
):
    survivor = released["survivor"]
    url = f"/survivors/{survivor.pk}/consents/"
    client = browser(members["liaison"])
    before = head()
    response = client.post(
        url,
        consent_post(
            {
                agencies["legal"]: ["identity", "contact"],
                agencies["outsider"]: ["identity", "contact"],
                agencies["oversight"]: ["identity"],
            },
            interpreter_used="on",
            language="es",
        ),
        form_from=url,
    )
    assert response.status_code == 302
    new = Consent.objects.exclude(pk=released["consent"].pk)
    assert new.count() == 2
    by_categories = {tuple(c.categories): {a.slug for a in c.recipients.all()} for c in new}
    assert by_categories == {
        ("identity", "contact"): {"legal", "outsider"},
        ("identity",): {"oversight"},
    }
    assert all(c.interpreter_used and c.language == "es" for c in new)
    legal = released["referral"].recipients.get(agency=agencies["legal"])
    assert legal.status == "requested"
    actions = [e.action for e in entries_since(before)]
    assert actions.count("consent_record") == 2


def test_invalid_consent_shows_each_problem_and_writes_nothing(
    released, agencies, members, browser
):
    survivor = released["survivor"]
    url = f"/survivors/{survivor.pk}/consents/"
    client = browser(members["liaison"])
    client.get(url)
    before, count = head(), Consent.objects.count()
    response = client.post(
        url,
        consent_post(
            {agencies["legal"]: ["identity"]},
            services_not_conditional="",
            evidence_sha256="not-a-hash",
        ),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Must be 64 lowercase hexadecimal characters." in body
    assert Consent.objects.count() == count
    assert entries_since(before) == []
    # Each element's own rule shows next to it (here: services must not be conditional).
    response = client.post(
        url, consent_post({agencies["legal"]: ["identity"]}, services_not_conditional="")
    )
    assert response.status_code == 400
    assert "Services must not be conditional on consent" in response.content.decode()
    response = client.post(url, consent_post({}))
    assert response.status_code == 400
    assert "Name at least one recipient agency." in response.content.decode()
    assert Consent.objects.count() == count
    assert entries_since(before) == []


def test_revoke_is_one_step_and_ends_the_recipients_access(released, agencies, members, browser):
    consent = released["consent"]
    client = browser(members["liaison"])
    url = f"/survivors/{released['survivor'].pk}/consents/"
    response = client.post(
        f"/consents/{consent.pk}/revoke/",
        {"reason": "asked by phone", "channel": "oral"},
        form_from=url,
    )
    assert response.status_code == 302
    assert ConsentRevocation.objects.filter(consent=consent, channel="oral").exists()
    shelter = released["referral"].recipients.get(agency=agencies["shelter"])
    assert shelter.status == "consent_revoked"
    worker = browser(members["caseworker"])
    assert worker.get(f"/referrals/{released['referral'].pk}/").status_code == 404
    assert b"Revoked" in client.get(url).content


def test_revoke_without_a_reason_changes_nothing(released, members, browser):
    client = browser(members["liaison"])
    url = f"/survivors/{released['survivor'].pk}/consents/"
    response = client.post(
        f"/consents/{released['consent'].pk}/revoke/",
        {"reason": "", "channel": "oral"},
        form_from=url,
    )
    assert response.status_code == 302
    assert not ConsentRevocation.objects.exists()
    assert b"give a reason" in client.get(url).content


def test_liaison_cannot_revoke_another_agencys_consent(released, agencies, browser):
    from tests.factories import MemberFactory

    stranger = browser(MemberFactory(agency=agencies["outsider"], role="liaison"))
    response = stranger.post(
        f"/consents/{released['consent'].pk}/revoke/",
        {"reason": "x", "channel": "oral"},
        form_from="/survivors/",
    )
    assert response.status_code == 404
    assert not ConsentRevocation.objects.exists()


def test_referral_to_two_agencies_waits_for_consent_where_none_covers_it(
    released, agencies, members, browser
):
    client = browser(members["liaison"])
    survivor = released["survivor"]
    response = client.post(
        "/referrals/new/",
        {
            "survivor": str(survivor.pk),
            "recipients": [agencies["shelter"].pk, agencies["legal"].pk],
            "needs": ["shelter", "legal"],
            "urgency": "high",
            "region": "metro",
            "narrative": "canary-new-narrative",
        },
        form_from=f"/referrals/new/?survivor={survivor.pk}",
    )
    referral = Referral.objects.exclude(pk=released["referral"].pk).get()
    assert response["Location"] == f"/referrals/{referral.pk}/"
    statuses = dict(referral.recipients.values_list("agency__slug", "status"))
    assert statuses == {"shelter": "requested", "legal": "awaiting_consent"}
    outgoing = client.get("/referrals/outgoing/").content.decode()
    assert outgoing.count('data-referral="') == 2


def test_referral_form_errors_come_back_with_nothing_written(released, members, browser):
    client = browser(members["liaison"])
    client.get("/referrals/new/")
    before = head()
    response = client.post(
        "/referrals/new/",
        {
            "survivor": str(released["survivor"].pk),
            "recipients": [members["liaison"].agency_id],
            "needs": ["shelter"],
            "urgency": "high",
        },
    )
    assert response.status_code == 400
    assert Referral.objects.count() == 1
    assert entries_since(before) == []


def test_consent_grid_ignores_cells_it_did_not_offer(released, members, browser):
    survivor = released["survivor"]
    url = f"/survivors/{survivor.pk}/consents/"
    client = browser(members["liaison"])
    own = members["liaison"].agency
    response = client.post(
        url, consent_post({}, grant=[f"{own.pk}:identity", "999999:contact", "junk"]), form_from=url
    )
    assert response.status_code == 400
    assert "Name at least one recipient agency." in response.content.decode()
    assert Consent.objects.count() == 1


def test_consent_times_on_the_form_are_utc_whatever_the_servers_zone(
    released, agencies, members, browser, settings
):
    settings.TIME_ZONE = "America/New_York"
    survivor = released["survivor"]
    url = f"/survivors/{survivor.pk}/consents/"
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(second=0, microsecond=0)
    response = browser(members["liaison"]).post(
        url,
        consent_post(
            {agencies["legal"]: ["identity"]}, expires_at=expires.strftime("%Y-%m-%dT%H:%M")
        ),
        form_from=url,
    )
    assert response.status_code == 302
    recorded = Consent.objects.exclude(pk=released["consent"].pk).get()
    assert recorded.expires_at == expires


def test_an_agency_not_accepting_referrals_is_refused_next_to_the_recipients(
    released, agencies, members, browser
):
    agencies["legal"].accepting_referrals = False
    agencies["legal"].save()
    client = browser(members["liaison"])
    before = head()
    response = client.post(
        "/referrals/new/",
        {
            "survivor": str(released["survivor"].pk),
            "recipients": [agencies["shelter"].pk, agencies["legal"].pk],
            "needs": ["shelter"],
            "urgency": "high",
        },
        form_from="/referrals/new/",
    )
    assert response.status_code == 400
    assert f"{agencies['legal'].name} is not accepting referrals." in response.content.decode()
    assert Referral.objects.count() == 1
    assert [e.action for e in entries_since(before)] == ["list"]  # the form's own read
