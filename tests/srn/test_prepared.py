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

    assert len(built) == 4  # one shape of one id, one of two: each built twice
    assert len(queries) == len(world["survivors"]) + 1


def test_an_empty_list_runs_no_query(world):
    with CaptureQueriesContext(connection) as queries:
        rows = compiled_consents(survivor_ids=[], agency_id=1, at=world["now"])

    assert rows == []
    assert len(queries) == 0


def test_none_and_bools_shape_the_query_and_are_part_of_its_key(world):
    def either(*, as_recipient, agency_id, at):
        consents = Consent.objects.active_at(at).order_by()
        if as_recipient:
            consents = consents.filter(recipients=agency_id)
        else:
            consents = consents.filter(owner_agency_id=agency_id)
        return consents.values_list("survivor_id")

    compiled = prepared(either)
    shelter, police = world["agencies"]["shelter"].id, world["agencies"]["police"].id
    now = world["now"]

    recipient = compiled(as_recipient=True, agency_id=shelter, at=now)
    owner = compiled(as_recipient=False, agency_id=police, at=now)

    assert sorted(recipient) == sorted(either(as_recipient=True, agency_id=shelter, at=now))
    assert sorted(owner) == sorted(either(as_recipient=False, agency_id=police, at=now))
    assert len(owner) > len(recipient) > 0


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.integers(0, 7), stop=st.integers(0, 7), hours=st.integers(-24 * 12, 24 * 40))
def test_a_slice_shapes_the_query_and_deferred_fields_stay_deferred(world, start, stop, hours):
    def consents(*, at, rows):
        return (
            Consent.objects.active_at(at)
            .select_related("survivor")
            .only("id", "expires_at", "survivor__ref")
            .order_by("expires_at", "id")[rows]
        )

    at, rows = world["now"] + timedelta(hours=hours), slice(start, max(start, stop))
    expected = list(consents(at=at, rows=rows))
    found = prepared(consents)(at=at, rows=rows)

    assert found == expected
    for mine, theirs in zip(found, expected, strict=True):
        assert mine.get_deferred_fields() == theirs.get_deferred_fields() != set()
        assert (mine.expires_at, mine.survivor.ref) == (theirs.expires_at, theirs.survivor.ref)


def test_strings_are_parameters(world):
    def in_language(*, language, at):
        return Consent.objects.active_at(at).filter(language=language).values_list("id")

    compiled = prepared(in_language)
    now = world["now"]
    first = Consent.objects.first()
    Consent.objects.filter(pk=first.pk).update(language="es")

    assert compiled(language="es", at=now) == list(in_language(language="es", at=now))
    assert compiled(language="en", at=now) == list(in_language(language="en", at=now))
    assert compiled(language="fr'; --", at=now) == []


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(picked=st.lists(st.integers(0, 6), max_size=4), hours=st.integers(-24 * 12, 24 * 40))
def test_model_rows_with_their_related_objects_as_the_orm_makes_them(world, picked, hours):
    def consents(*, survivor_ids, at):
        return (
            Consent.objects.active_at(at)
            .filter(survivor_id__in=survivor_ids)
            .select_related("survivor", "owner_agency")
            .order_by("id")
        )

    known = world["survivors"] + [uuid.uuid4()]
    arguments = {
        "survivor_ids": [known[i] for i in picked],
        "at": world["now"] + timedelta(hours=hours),
    }
    expected = list(consents(**arguments)) if arguments["survivor_ids"] else []

    with CaptureQueriesContext(connection) as queries:
        found = prepared(consents)(**arguments)
        for consent in found:  # the related objects came with the rows
            assert consent.survivor.ref
            assert consent.owner_agency.slug
    assert len(queries) == (1 if arguments["survivor_ids"] else 0)
    assert found == expected
    for mine, theirs in zip(found, expected, strict=True):
        assert mine.__dict__.keys() - {"_state"} == theirs.__dict__.keys() - {"_state"}
        assert mine.categories == theirs.categories
        assert mine.expires_at == theirs.expires_at
        assert mine.survivor == theirs.survivor
        assert mine._state.db == theirs._state.db
        assert not mine._state.adding


def test_a_value_that_never_reaches_the_sql_is_refused(world):
    def forgetful(*, agency_id, at):
        return Consent.objects.filter(recipients=agency_id).values_list("id")

    with pytest.raises(ValueError, match=r"\['at'\] did not reach the SQL"):
        prepared(forgetful)(agency_id=1, at=world["now"])


def test_a_list_of_mixed_kinds_is_refused():
    with pytest.raises(TypeError, match="no one kind"):
        compiled_consents(survivor_ids=[uuid.uuid4(), 3], agency_id=1, at=django_timezone.now())


def test_only_model_rows_or_a_values_list(world):
    with pytest.raises(ValueError, match="values_list"):
        prepared(lambda *, at: Consent.objects.active_at(at).values("id"))(at=world["now"])
    with pytest.raises(ValueError, match="prefetch"):
        prepared(lambda *, at: Consent.objects.active_at(at).prefetch_related("recipients"))(
            at=world["now"]
        )


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

    assert len(built) == 12  # built twice a shape; the first was let go when the fourth came


def test_a_constant_of_the_query_stays_even_when_it_equals_a_stand_in(world):
    # Built twice with different stand-ins, a constant equal to one of them stays put.
    def in_language(*, language, at):
        consents = Consent.objects.active_at(at).filter(language=language)
        return consents.exclude(notice_version="srn-prepared-0-1").values_list("id")

    compiled = prepared(in_language)
    now = world["now"]
    Consent.objects.update(language="es")
    Consent.objects.filter(pk=Consent.objects.first().pk).update(notice_version="srn-prepared-0-1")

    assert sorted(compiled(language="es", at=now)) == sorted(in_language(language="es", at=now))
    assert len(compiled(language="es", at=now)) == Consent.objects.active_at(now).count() - 1
