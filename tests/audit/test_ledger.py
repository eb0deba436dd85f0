"""The disclosure ledger: every disclosure of a survivor's data to another agency."""

import pytest
from django.core.exceptions import PermissionDenied

from audit.ledger import disclosures_of
from audit.models import AuditEntry, Disclosure
from audit.selectors import disclosure_ledger, ledger_shown
from tests.audit.world import build_world
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(members, agencies):
    return build_world(members, agencies)


def _ledger(members, query):
    return client_for(members["compliance"]).get(f"/api/v1/audit/ledger/?{query}")


def test_each_disclosure_to_another_agency_is_a_ledger_line(world, members):
    caseworker = client_for(members["caseworker"])
    caseworker.get(f"/api/v1/referrals/{world['referral']}/")
    caseworker.get("/api/v1/referrals/")
    caseworker.post(
        f"/api/v1/referrals/{world['referral']}/transitions/", {"action": "accept"}, format="json"
    )
    client_for(members["liaison"]).get(f"/api/v1/referrals/{world['referral']}/")  # the owner
    body = _ledger(members, f"survivor_ref={world['ref']}").json()
    lines = body["results"]
    # world's first read, the detail view, the list page, the transition's response;
    # never the owner agency's reads
    assert [line["action"] for line in lines] == ["transition", "list", "view", "view"]
    for line in lines:
        assert line["survivor_ref"] == world["ref"]
        assert line["actor_agency"] == "shelter"
        assert line["actor_username"] == members["caseworker"].user.username
        assert line["categories"] == ["contact", "identity"]
        assert line["consent_ids"] == [world["consent"]]
        assert line["object_type"] == "referral"
        assert line["object_id"] == world["referral"]
    entry = AuditEntry.objects.get(seq=lines[1]["entry_seq"])  # the list page
    assert entry.detail["filters"]["items"][0]["ref"] == world["ref"]
    read = AuditEntry.objects.filter(object_type="disclosure").get()
    assert (read.action, read.survivor_ref, read.actor_role) == (
        "list",
        world["ref"],
        "compliance_officer",
    )


def test_the_ledger_pages_by_cursor(world, members):
    for _ in range(4):
        client_for(members["caseworker"]).get(f"/api/v1/referrals/{world['referral']}/")
    first = _ledger(members, f"survivor_ref={world['ref']}&page_size=2").json()
    second = client_for(members["compliance"]).get(first["next"]).json()
    seqs = [line["entry_seq"] for line in first["results"] + second["results"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == 4


def test_other_survivors_and_bad_refs(world, members):
    assert _ledger(members, "survivor_ref=S-ZZZZ2222").json()["results"] == []
    response = _ledger(members, "survivor_ref=Ana")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("who", ["liaison", "caseworker", "admin"])
def test_only_compliance_officers_read_the_ledger(who, world, members):
    response = client_for(members[who]).get(f"/api/v1/audit/ledger/?survivor_ref={world['ref']}")
    assert response.status_code == 403
    assert AuditEntry.objects.last().action == "denied"
    with pytest.raises(PermissionDenied):
        disclosure_ledger(actor=members[who].as_actor())
    with pytest.raises(PermissionDenied):
        ledger_shown(actor=members[who].as_actor(), survivor_ref=world["ref"], page=[])


def test_the_ledger_index_is_exactly_what_the_entries_say(world, members):
    client_for(members["caseworker"]).get("/api/v1/referrals/")
    derived = [line for entry in AuditEntry.objects.all() for line in disclosures_of(entry)]
    stored = list(Disclosure.objects.values(*derived[0].keys()))
    assert stored == derived
