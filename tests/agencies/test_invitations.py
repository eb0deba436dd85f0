"""Invitation and reset links: single use, 72 hours, hashed; who may invite whom."""

from __future__ import annotations

import hashlib
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Invitation
from audit.models import AuditEntry
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-unusual-password-7"


def _invite(member, agency, role="caseworker", username="new.person"):
    return client_for(member).post(
        "/api/v1/invitations/",
        {"agency": agency.pk, "role": role, "username": username, "email": "p@example.org"},
        format="json",
    )


def _token() -> str:
    return re.search(r"/invitations/([A-Za-z0-9_-]+)/", mail.outbox[-1].body).group(1)


def _accept(token):
    return APIClient().post(
        "/api/v1/invitations/accept/", {"token": token, "password": PASSWORD}, format="json"
    )


def _refusal_reason() -> str:
    entry = AuditEntry.objects.filter(action="denied").order_by("-pk").first()
    assert entry.object_type == "invitation"
    return entry.detail["reason"]


def test_only_the_tokens_sha256_is_stored(members, agencies):
    assert _invite(members["admin"], agencies["shelter"]).status_code == 201
    token = _token()
    stored = Invitation.objects.get()
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(Invitation.objects.values()))


def test_a_used_link_is_refused(members, agencies):
    _invite(members["admin"], agencies["shelter"])
    token = _token()
    assert _accept(token).status_code == 200
    response = _accept(token)
    assert response.status_code == 404
    assert response.json()["code"] == "invitation_invalid"
    assert _refusal_reason() == "used"


def test_an_expired_link_is_refused(members, agencies):
    _invite(members["admin"], agencies["shelter"])
    token = _token()
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=72, seconds=1)):
        assert _accept(token).status_code == 404
    assert _refusal_reason() == "expired"


def test_a_tampered_link_is_refused_and_creates_nobody(members, agencies):
    _invite(members["admin"], agencies["shelter"])
    token = _token()
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert _accept(tampered).status_code == 404
    assert _refusal_reason() == "unknown"
    assert not Invitation.objects.filter(used_at__isnull=False).exists()


def test_a_weak_password_is_refused_and_the_link_still_works(members, agencies):
    _invite(members["admin"], agencies["shelter"])
    token = _token()
    weak = APIClient().post(
        "/api/v1/invitations/accept/", {"token": token, "password": "password"}, format="json"
    )
    assert weak.status_code == 400
    assert "password" in weak.json()["fields"]
    assert _accept(token).status_code == 200


def test_a_newer_invitation_supersedes_the_pending_one(members, agencies):
    _invite(members["admin"], agencies["shelter"])
    first = _token()
    _invite(members["admin"], agencies["shelter"])
    assert _accept(first).status_code == 404
    assert _accept(_token()).status_code == 200


@pytest.mark.parametrize("role", ["network_admin", "compliance_officer"])
def test_an_agency_admin_never_invites_oversight_roles(members, agencies, role):
    response = _invite(members["admin"], agencies["shelter"], role=role)
    assert response.status_code == 400
    assert not mail.outbox


def test_an_agency_admin_invites_only_into_their_own_agency(members, agencies):
    assert _invite(members["admin"], agencies["legal"]).status_code == 404
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("member", ["caseworker", "liaison", "compliance"])
def test_other_roles_cannot_invite(members, agencies, member):
    assert _invite(members[member], agencies["shelter"]).status_code == 403


def test_a_network_admin_invites_an_agency_admin_but_not_members(members, agencies):
    assert (
        _invite(members["network_admin"], agencies["legal"], role="agency_admin").status_code == 201
    )
    assert _invite(members["network_admin"], agencies["legal"], username="x").status_code == 400
    oversight = _invite(
        members["network_admin"], agencies["legal"], role="compliance_officer", username="y"
    )
    assert oversight.status_code == 400


def test_an_agency_admin_cannot_add_a_network_admin_directly(members):
    response = client_for(members["admin"]).post(
        "/api/v1/members/",
        {"username": "sneaky", "password": PASSWORD, "role": "network_admin"},
        format="json",
    )
    assert response.status_code == 400


def test_password_reset_answers_alike_and_the_link_resets(members):
    user = members["caseworker"].user
    user.email = "worker@example.org"
    user.save()
    client = APIClient()
    unknown = client.post("/api/v1/password-reset/", {"username": "nobody"}, format="json")
    known = client.post("/api/v1/password-reset/", {"username": user.username}, format="json")
    assert unknown.status_code == known.status_code == 202
    assert unknown.content == known.content
    assert len(mail.outbox) == 1
    assert _accept(_token()).status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_set_password_page_uses_the_link_once(members, agencies, client):
    _invite(members["admin"], agencies["shelter"])
    path = f"/invitations/{_token()}/"
    assert client.get(path).status_code == 200
    form = {"password": PASSWORD, "confirm": PASSWORD}
    assert client.post(path, form).status_code == 302
    assert client.get(path).status_code == 404
