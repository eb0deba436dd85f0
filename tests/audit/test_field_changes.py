"""django-auditlog: field diffs of the domain models, never a PII field, with who/where."""

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps

from audit.models import AuditEntry
from consent.categories import PII_FIELDS
from consent.crypto import EncryptedTextField
from tests.conftest import client_for
from tests.factories import PASSWORD

DOMAIN_MODELS = [
    "consent.Survivor",
    "coordination.Referral",
    "coordination.StatusChange",
    "coordination.CaseNote",
    "consent.Consent",
    "consent.ConsentRevocation",
    "agencies.Agency",
    "agencies.Membership",
]


@pytest.mark.parametrize("label", DOMAIN_MODELS)
def test_domain_models_are_tracked_without_any_pii_field(label):
    model = apps.get_model(label)
    assert auditlog.contains(model)
    options = auditlog.get_model_fields(model)
    assert not options["include_fields"]
    assert options["mask_fields"] == []  # masking keeps half a value: we exclude instead
    assert not auditlog.get_serialize_options(model)["serialize_data"]
    sensitive = {
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedTextField) or f.name in PII_FIELDS
    }
    assert sensitive <= set(options["exclude_fields"])


def test_a_recipient_status_is_not_tracked_its_status_changes_are():
    # Every move of a RecipientStatus writes a StatusChange (tracked); diffing the
    # status row too would record each move twice.
    assert not auditlog.contains(apps.get_model("coordination.RecipientStatus"))
    assert auditlog.contains(apps.get_model("coordination.StatusChange"))


def test_every_model_with_an_encrypted_field_that_is_tracked_excludes_it():
    for model in auditlog.get_models():
        encrypted = {
            f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        }
        assert encrypted <= set(auditlog.get_model_fields(model)["exclude_fields"]), model


@pytest.mark.django_db
def test_an_api_change_is_diffed_with_the_token_user_the_request_id_and_no_pii(members):
    token = (
        client_for()
        .post(
            "/api/v1/auth/token/",
            {"username": members["liaison"].user.username, "password": PASSWORD},
            format="json",
        )
        .json()["token"]
    )
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    created = client.post(
        "/api/v1/survivors/",
        {"given_name": "canary-given-field-diff", "preferred_language": "fr"},
        format="json",
    )
    response = client.patch(
        f"/api/v1/survivors/{created.json()['id']}/",
        {"phone": "canary-phone-field-diff", "preferred_language": "es"},
        format="json",
    )
    assert response.status_code == 200
    update = LogEntry.objects.filter(action=LogEntry.Action.UPDATE).get()
    assert update.actor_id == members["liaison"].user_id
    assert update.cid == response["X-Request-ID"]
    assert update.remote_addr == "127.0.0.1"
    assert update.changes_dict["preferred_language"] == ["fr", "es"]
    assert "phone" not in update.changes_dict
    [audit] = AuditEntry.objects.filter(action="update")
    assert audit.request_id == update.cid  # one request, both records
    dumped = str(list(LogEntry.objects.values()))
    assert "canary" not in dumped
