"""``srn.prepared``: a query compiled once answers as the ORM answers, for any values."""

import uuid
from datetime import UTC, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone as django_timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import Consent, ConsentRevocation
from srn import prepared as prepared_module
from srn.prepared import prepared
from tests.factories import ConsentFactory, SurvivorFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _consents(*, survivor_ids, agency_id, at):
    return (
        Consent.objects.active_at(at)
        .filter(survivor_id__in=survivor_ids, recipients=agency_id)
        .order_by()
        .values_list("survivor_id", "id", "categories", "expires_at")
    )


compiled_consents = prepared(_consents)


@pytest.fixture
def world(agencies, members):
    """Survivors with consents of every state to two agencies."""
    now = django_timezone.now()
    survivors = []
    for offset, lifetime, revoked, to in [
        (-DAY, 30 * DAY, False, "shelter"),
        (-DAY, 30 * DAY, True, "shelter"),
        (DAY, 30 * DAY, False, "shelter"),
        (-10 * DAY, 5 * DAY, False, "legal"),
        (-2 * DAY, 3 * DAY, False, "legal"),
        (-DAY, 30 * DAY, False, "legal"),
    ]:
        survivor = SurvivorFactory(
            owner_agency=agencies["police"], created_by=members["liaison"].user
        )
        consent = ConsentFactory(
            survivor=survivor,
            categories=["identity", "contact"] if to == "shelter" else ["medical"],
            valid_from=now + offset,
            expires_at=now + offset + lifetime,
            recipients=[agencies[to]],
        )
        if revoked:
            ConsentRevocation.objects.create(consent=consent, channel="oral", reason="x")
        survivors.append(survivor.id)
    return {"now": now, "survivors": survivors, "agencies": agencies}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picked=st.lists(st.integers(0, 6), max_size=6),
    agency=st.sampled_from(["shelter", "legal", "outsider"]),
    hours=st.integers(-24 * 12, 24 * 40),
    zone_hours=st.integers(-11, 12),
)
def test_answers_as_the_orm_does(world, picked, agency, hours, zone_hours):
    # Index 6 is a survivor that does not exist; the moment is spelt in any time zone.
    known = world["survivors"] + [uuid.uuid4()]
    survivor_ids = [known[i] for i in picked]
    at = (world["now"] + timedelta(hours=hours)).astimezone(timezone(timedelta(hours=zone_hours)))
    arguments = {
        "survivor_ids": survivor_ids,
        "agency_id": world["agencies"][agency].id,
        "at": at,
    }

    expected = sorted(_consents(**arguments), key=str) if survivor_ids else []

    assert sorted(compiled_consents(**arguments), key=str) == expected


def test_rows_are_converted_as_values_list_converts_them(world):
    arguments = {
        "survivor_ids": world["survivors"][:1],
        "agency_id": world["agencies"]["shelter"].id,
        "at": world["now"],
    }

    (row,) = compiled_consents(**arguments)

    assert row == tuple(_consents(**arguments).get())
    survivor_id, consent_id, categories, expires_at = row
    assert isinstance(survivor_id, uuid.UUID)
    assert isinstance(consent_id, uuid.UUID)
    assert categories == ["identity", "contact"]
    assert expires_at.tzinfo is not None


def test_compiled_once_per_shape_then_one_query_a_call(world):
    built = []

    def counting(**values):
        built.append(values)
        return _consents(**values)

    compiled = prepared(counting)
    shelter = world["agencies"]["shelter"].id
    with CaptureQueriesContext(connection) as queries:
        for survivor in world["survivors"]:
            compiled(survivor_ids=[survivor], agency_id=shelter, at=world["now"])
        compiled(survivor_ids=world["survivors"][:2], agency_id=shelter, at=world["now"])

    assert len(built) == 2  # one shape of one id, one of two
    assert len(queries) == len(world["survivors"]) + 1


def test_an_empty_list_runs_no_query(world):
    with CaptureQueriesContext(connection) as queries:
        rows = compiled_consents(survivor_ids=[], agency_id=1, at=world["now"])

    assert rows == []
    assert len(queries) == 0


def test_values_that_shape_the_query_are_part_of_its_key(world):
    def either(*, side, agency_id, at):
        consents = Consent.objects.active_at(at).order_by()
        if side == "recipients":
            consents = consents.filter(recipients=agency_id)
        else:
            consents = consents.filter(owner_agency_id=agency_id)
        return consents.values_list("survivor_id")

    compiled = prepared(either)
    shelter, police = world["agencies"]["shelter"].id, world["agencies"]["police"].id

    as_recipient = compiled(side="recipients", agency_id=shelter, at=world["now"])
    as_owner = compiled(side="owner", agency_id=police, at=world["now"])

    assert sorted(as_recipient) == sorted(
        either(side="recipients", agency_id=shelter, at=world["now"])
    )
    assert sorted(as_owner) == sorted(either(side="owner", agency_id=police, at=world["now"]))
    assert len(as_owner) > len(as_recipient) > 0


def test_a_value_that_never_reaches_the_sql_is_refused(world):
    def forgetful(*, agency_id, at):
        return Consent.objects.filter(recipients=agency_id).values_list("id")

    with pytest.raises(ValueError, match=r"\['at'\] did not reach the SQL"):
        prepared(forgetful)(agency_id=1, at=world["now"])


def test_a_list_of_mixed_kinds_is_refused():
    with pytest.raises(TypeError, match="no one kind"):
        compiled_consents(survivor_ids=[uuid.uuid4(), 3], agency_id=1, at=django_timezone.now())


def test_only_plain_values_list_queries(world):
    with pytest.raises(ValueError, match="values_list"):
        prepared(lambda *, at: Consent.objects.active_at(at))(at=world["now"])


def test_the_plans_kept_are_bounded(world, monkeypatch):
    monkeypatch.setattr(prepared_module, "MAX_PLANS", 3)
    built = []

    def counting(**values):
        built.append(values)
        return _consents(**values)

    compiled = prepared(counting)
    shelter = world["agencies"]["shelter"].id
    for size in range(1, 6):
        assert compiled(
            survivor_ids=world["survivors"][:size], agency_id=shelter, at=world["now"]
        ) == list(
            _consents(survivor_ids=world["survivors"][:size], agency_id=shelter, at=world["now"])
        )
    compiled(
        survivor_ids=world["survivors"][:1], agency_id=shelter, at=world["now"].astimezone(UTC)
    )

    assert len(built) == 6  # the first shape was let go when the fourth came
