import pytest
from cryptography.fernet import Fernet
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from consent import crypto
from consent.models import Survivor
from tests.factories import SurvivorFactory


@given(st.text(max_size=500))
def test_encryption_round_trips_any_text(text):
    assert crypto.decrypt(crypto.encrypt(text)) == text


def test_rotation_new_key_encrypts_old_keys_still_decrypt(settings):
    old_token = crypto.encrypt("canary-rotation")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    assert crypto.decrypt(old_token) == "canary-rotation"
    rotated = crypto.rotate(old_token)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(rotated) == "canary-rotation"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(old_token)


@pytest.mark.django_db
def test_pii_is_not_stored_in_clear():
    survivor = SurvivorFactory(given_name="canary-clear-name", phone="canary-555-0100")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT given_name, phone FROM consent_survivor WHERE ref = %s", [survivor.ref]
        )
        stored = cursor.fetchone()
    assert "canary" not in "".join(stored)
    assert Survivor.objects.get(pk=survivor.pk).given_name == "canary-clear-name"


@pytest.mark.django_db
def test_encrypted_fields_refuse_lookups_that_cannot_work():
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        list(Survivor.objects.filter(given_name__icontains="x"))


@pytest.mark.django_db
def test_rotate_field_keys_rewrites_everything_under_the_newest_key(settings):
    from django.core.management import call_command

    survivor = SurvivorFactory(given_name="canary-rotate", phone="canary-phone")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_field_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    reloaded = Survivor.objects.get(pk=survivor.pk)
    assert (reloaded.given_name, reloaded.phone) == ("canary-rotate", "canary-phone")
