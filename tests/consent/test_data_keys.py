"""Per-survivor data keys: each survivor's values open with their own key only; the key
is kept wrapped by the field key in the key store, rotates with it, is fetched once per
request, and once destroyed leaves every value unreadable."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from agencies.errors import Erased
from consent import crypto, data_keys
from consent.models import DataKey, Survivor
from coordination.models import Referral
from tests.factories import ReferralFactory, SurvivorFactory

pytestmark = pytest.mark.django_db


def stored(model, pk, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
            [model._meta.pk.get_db_prep_value(pk, connection)],
        )
        return cursor.fetchone()[0]


@settings(max_examples=25, deadline=None)
@given(text=st.text(min_size=1, max_size=300))
def test_a_value_opens_with_its_survivors_key_only(text):
    first, second = SurvivorFactory(), SurvivorFactory()
    token = data_keys.seal(text, first.pk)
    assert token.startswith(f"dk1:{first.pk.hex}:")
    assert data_keys.open_token(token) == text
    forged = token.replace(first.pk.hex, second.pk.hex)
    with pytest.raises(crypto.DecryptionFailed):
        data_keys.open_token(forged)


def test_every_survivor_has_a_key_of_their_own_in_the_key_store_only():
    one, two = SurvivorFactory(), SurvivorFactory()
    wrapped = dict(DataKey.objects.using("keys").values_list("survivor_id", "wrapped"))
    assert set(wrapped) >= {one.pk, two.pk}
    assert crypto.decrypt(wrapped[one.pk]) != crypto.decrypt(wrapped[two.pk])
    assert "consent_datakey" not in connection.introspection.table_names()
    assert "consent_datakey" in connections["keys"].introspection.table_names()


def test_a_referrals_narrative_is_under_its_survivors_key():
    referral = ReferralFactory(narrative="canary-narrative-key")
    token = stored(Referral, referral.pk, "narrative")
    assert data_keys.owner_of(token) == referral.survivor_id
    assert Referral.objects.get(pk=referral.pk).narrative == "canary-narrative-key"


def test_rotation_rewraps_the_data_keys_and_the_old_field_key_can_go(settings):
    survivor = SurvivorFactory(given_name="canary-rotated", phone="canary-rotated-phone")
    before = DataKey.objects.using("keys").get(pk=survivor.pk).wrapped
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    out = StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert out.getvalue().endswith("1 data key(s) re-wrapped under the newest key.\n")
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    after = DataKey.objects.using("keys").get(pk=survivor.pk).wrapped
    assert after != before
    assert Fernet(new_key.encode()).decrypt(after.encode())  # wrapped by the newest key
    reloaded = Survivor.objects.get(pk=survivor.pk)
    assert (reloaded.given_name, reloaded.phone) == ("canary-rotated", "canary-rotated-phone")


def test_a_destroyed_key_reads_empty_and_refuses_new_values():
    survivor = SurvivorFactory(given_name="canary-destroyed")
    token = stored(Survivor, survivor.pk, "given_name")
    assert data_keys.destroy(survivor.pk) is True
    assert data_keys.destroy(survivor.pk) is False  # idempotent
    assert data_keys.open_token(token) == ""
    assert Survivor.objects.get(pk=survivor.pk).given_name == ""
    with pytest.raises(Erased):
        data_keys.seal("canary-after", survivor.pk)


def test_a_key_missing_from_the_store_fails_loudly_never_reads_as_erased():
    survivor = SurvivorFactory(given_name="canary-missing")
    DataKey.objects.using("keys").filter(pk=survivor.pk).delete()
    with pytest.raises(crypto.DecryptionFailed):
        Survivor.objects.get(pk=survivor.pk)


def test_a_request_fetches_each_key_once():
    survivors = [SurvivorFactory(phone="canary-phone") for _ in range(3)]
    with CaptureQueriesContext(connections["keys"]) as unscoped:
        list(Survivor.objects.filter(pk__in=[s.pk for s in survivors]))
    with data_keys.key_scope(), CaptureQueriesContext(connections["keys"]) as scoped:
        list(Survivor.objects.filter(pk__in=[s.pk for s in survivors]))
        list(Survivor.objects.filter(pk__in=[s.pk for s in survivors]))
    assert len(scoped) == 3
    assert len(unscoped) == 3 * 2  # per value (a name and a phone each) without a scope


def test_update_cannot_bypass_the_survivors_key():
    referral = ReferralFactory()
    with pytest.raises(TypeError, match="survivor's key"):
        Referral.objects.filter(pk=referral.pk).update(narrative="canary-bypass")
