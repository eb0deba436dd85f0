"""The Django admin: compliance officers read the trail there, nobody changes it."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from agencies.admin import site
from audit.models import AuditEntry
from audit.recorder import Actor, record

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def entry():
    return record(action="view", actor=Actor(user_id=1, agency="shelter"), object_type="referral")


def test_a_compliance_officer_lists_filters_and_reads_entries(members, entry):
    client = browser_for(members["compliance"].user)
    listing = client.get("/admin/audit/auditentry/?action__exact=view&q=shelter")
    assert listing.status_code == 200
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    views = AuditEntry.objects.filter(actor_role="compliance_officer")
    assert [(e.action, e.object_type, e.detail["admin"]) for e in views] == [
        ("list", "audit_entry", "changelist"),
        ("view", "audit_entry", "change"),
    ]
    assert views[0].detail["filters"] == {"action__exact": "view", "q": "shelter"}


@pytest.mark.parametrize("who", ["liaison", "caseworker", "admin", "outsider"])
def test_other_roles_are_refused_and_audited(who, members, entry):
    response = browser_for(members[who].user).get("/admin/audit/auditentry/")
    assert response.status_code == 403
    [denied] = AuditEntry.objects.filter(action="denied")
    assert denied.actor_user_id == members[who].user_id
    assert denied.detail["code"] == "not_compliance_officer"


def test_a_superuser_without_a_compliance_role_is_refused(db, entry):
    root = get_user_model().objects.create_superuser("root", password="x" * 16)
    assert browser_for(root).get("/admin/").status_code == 403
    assert AuditEntry.objects.filter(action="denied", actor_user_id=root.pk).count() == 1


def test_anonymous_visitors_go_to_the_one_sign_in(db, entry):
    response = Client().get("/admin/audit/auditentry/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_nobody_adds_changes_or_deletes_even_a_superuser_officer(members, entry):
    officer = members["compliance"].user
    officer.is_superuser = officer.is_staff = True
    officer.save()
    client = browser_for(officer)
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {}).status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {}).status_code == 403
    bulk = client.post(
        "/admin/audit/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code == 200
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    for model_admin in site._registry.values():
        request = type("R", (), {"user": officer})()
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        assert not model_admin.get_actions(request)
