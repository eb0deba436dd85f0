"""The survivor's disclosure report: every time their data reached another agency, under
consent or emergency access, for the owner agency only; audited; in English or Spanish."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from audit.models import AuditEntry
from coordination import disclosures
from tests.conftest import client_for
from tests.coordination.emergency_world import make_world, open_body
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "coordination" / "locale"


@pytest.fixture
def shared(agencies, members):
    """Shelter read under consent (contact) and, by one caseworker, under emergency
    access (identity, location, narrative); legal aid read nothing; the police (owner)
    read its own referral, which is no disclosure."""
    world = make_world("active", agencies, members)
    referral = world["referral"]
    caseworker = client_for(members["caseworker"])
    access_id = caseworker.post(
        f"/api/v1/referrals/{referral.pk}/emergency-access/", open_body(), format="json"
    ).json()["id"]
    caseworker.get(f"/api/v1/referrals/{referral.pk}/")
    client_for(world["colleague"]).get(f"/api/v1/referrals/{referral.pk}/")
    client_for(members["liaison"]).get(f"/api/v1/referrals/{referral.pk}/")
    return {**world, "access_id": access_id}


def _report(member, survivor, query=""):
    return client_for(member).get(f"/api/v1/survivors/{survivor.pk}/disclosures/{query}")


def test_the_report_lists_consent_and_emergency_disclosures_to_other_agencies(
    shared, members, agencies
):
    response = _report(members["liaison"], shared["survivor"])
    assert response.status_code == 200
    lines = response.json()["results"]
    assert [(line["agency"], line["basis"]) for line in lines] == [
        (agencies["shelter"].pk, "emergency"),
        (agencies["shelter"].pk, "consent"),
    ]
    emergency, consent = lines
    assert emergency["agency_name"] == agencies["shelter"].name
    assert emergency["categories"] == ["contact", "identity", "location", "narrative"]
    assert emergency["emergency_accesses"] == [
        {"id": shared["access_id"], "reason_code": "imminent_danger"}
    ]
    assert consent["categories"] == ["contact"]
    assert consent["consents"] == [str(shared["consent"].pk)]
    assert consent["emergency_accesses"] == []
    assert all(line["agency"] != agencies["police"].pk for line in lines)


def test_reading_the_report_is_itself_audited(shared, members):
    _report(members["liaison"], shared["survivor"])
    entry = AuditEntry.objects.order_by("pk").last()
    assert (entry.action, entry.object_type, entry.object_id) == (
        "view",
        "disclosure_report",
        str(shared["survivor"].pk),
    )
    assert (entry.survivor_ref, entry.detail) == (shared["survivor"].ref, {"count": 2})
    assert entry.actor_user_id == members["liaison"].user_id


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("caseworker", 403),  # a recipient's caseworker: not a survivor page of theirs
        ("admin", 403),
        ("compliance", 403),
        ("other_liaison", 404),  # a liaison of another agency: as for a missing survivor
    ],
)
def test_only_the_owner_agency_reads_the_report(who, status, shared, members, agencies):
    member = (
        MemberFactory(agency=agencies["shelter"], role="liaison")
        if who == "other_liaison"
        else members[who]
    )
    response = _report(member, shared["survivor"])
    assert response.status_code == status
    assert "results" not in response.json()
    assert AuditEntry.objects.order_by("pk").last().action == "denied"


def test_a_long_report_pages_by_cursor(shared, members):
    for _ in range(3):
        client_for(members["caseworker"]).get(f"/api/v1/referrals/{shared['referral'].pk}/")
    first = _report(members["liaison"], shared["survivor"], "?page_size=2").json()
    second = client_for(members["liaison"]).get(first["next"]).json()
    third = client_for(members["liaison"]).get(second["next"]).json()
    assert len(first["results"] + second["results"] + third["results"]) == 5
    assert third["next"] is None


# --- the printable page, in the survivor's language ---------------------------------------


def _page(member, survivor, query=""):
    client = Client()
    client.force_login(member.user)
    return client.get(f"/survivors/{survivor.pk}/disclosures/{query}")


@pytest.mark.parametrize(
    ("preferred", "query", "expected"),
    [
        ("es", "", "es"),
        ("es-MX", "", "es"),
        ("en", "", "en"),
        ("", "", "en"),
        ("fr", "", "en"),
        ("en", "?language=es", "es"),
        ("es", "?language=en", "en"),
        ("es", "?language=xx", "es"),
    ],
)
def test_the_page_speaks_the_survivors_language(preferred, query, expected, shared, members):
    survivor = shared["survivor"]
    survivor.preferred_language = preferred
    survivor.save(update_fields=["preferred_language"])
    page = _page(members["liaison"], survivor, query)
    assert page.status_code == 200
    body = page.content.decode()
    assert f'<article class="report" lang="{expected}"' in body
    if expected == "es":
        assert "Quién ha recibido su información" in body
        assert "Su información se compartió 2 veces." in body
        assert "se creía que usted estaba en peligro inmediato" in body
        assert "su nombre y su fecha de nacimiento" in body
        assert "Who has received" not in body
    else:
        assert "Your information was shared 2 times." in body
        assert "you were believed to be in immediate danger" in body


def test_the_page_uses_the_singular_and_says_when_nothing_was_shared(agencies, members):
    world = make_world("active", agencies, members)
    world["survivor"].preferred_language = "es"
    world["survivor"].save(update_fields=["preferred_language"])
    nothing = _page(members["liaison"], world["survivor"]).content.decode()
    assert "Su información no se ha compartido con ninguna otra organización." in nothing
    client_for(members["caseworker"]).get(f"/api/v1/referrals/{world['referral'].pk}/")
    once = _page(members["liaison"], world["survivor"]).content.decode()
    assert "Su información se compartió 1 vez." in once
    assert "Usted lo autorizó (consentimiento" in once


def test_the_page_is_audited_and_holds_no_pii(shared, members):
    body = _page(members["liaison"], shared["survivor"]).content.decode()
    assert "canary-" not in body
    entry = AuditEntry.objects.order_by("pk").last()
    assert (entry.action, entry.object_type) == ("view", "disclosure_report")


@pytest.mark.parametrize("who", ["caseworker", "compliance"])
def test_the_page_is_the_owners_only(who, shared, members):
    assert _page(members[who], shared["survivor"]).status_code == 403


def test_the_report_language_falls_back_to_english(shared):
    survivor = shared["survivor"]
    assert disclosures.report_language(survivor, None) == "en"
    assert [code for code, _ in django_settings.LANGUAGES] == ["en", "es"]


# --- the translations -------------------------------------------------------------------------


def _po_catalog(path: Path) -> dict:
    """The msgid -> msgstr pairs of a .po file (plurals as (msgid, n) keys, as gettext's
    catalogs hold them), the header excluded."""
    catalog, entry, key = {}, {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry.get("msgid"):
                if "msgid_plural" in entry:
                    for index in (0, 1):
                        catalog[(entry["msgid"], index)] = entry[f"msgstr[{index}]"]
                else:
                    catalog[entry["msgid"]] = entry["msgstr"]
            entry, key = {}, None
        elif line.startswith("#"):
            if line.startswith("#, fuzzy") and entry == {}:
                catalog.setdefault("#fuzzy", True)
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, text = line.split(" ", 1)
            entry[key] = ast.literal_eval(text)
    return catalog


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_compiled_catalog_is_up_to_date_with_the_po(language):
    folder = LOCALE / language / "LC_MESSAGES"
    written = _po_catalog(folder / "django.po")
    with (folder / "django.mo").open("rb") as compiled:
        catalog = dict(gettext.GNUTranslations(compiled)._catalog)
    catalog.pop("", None)  # the header
    assert catalog == written


def test_every_spanish_string_is_translated():
    written = _po_catalog(LOCALE / "es" / "LC_MESSAGES" / "django.po")
    assert "#fuzzy" not in written
    assert written
    for msgid, msgstr in written.items():
        assert msgstr, f"untranslated: {msgid}"
        text = msgid[0] if isinstance(msgid, tuple) else msgid
        assert msgstr != text, f"left in English: {text}"
