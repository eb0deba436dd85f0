"""``srn.prepared.insert``: an INSERT compiled once writes what ``save()`` writes, for any
values, and sends what ``save()`` sends."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import signals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry
from coordination.models import CaseNote, Event, StatusChange
from srn import prepared
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
ENTRIES = st.fixed_dictionaries(
    {
        "at": st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        "actor_user_id": st.none(),
        "actor_username": TEXT,
        "actor_agency_id": st.none(),
        "actor_agency": TEXT,
        "actor_role": TEXT,
        "action": st.sampled_from(["view", "create", "transition"]),
        "object_type": TEXT,
        "object_id": TEXT,
        "survivor_ref": TEXT.map(lambda t: t[:16]),
        "categories": st.lists(TEXT, max_size=3),
        "consent_ids": st.lists(TEXT, max_size=3),
        "outcome": st.sampled_from(["allowed", "denied"]),
        "detail": st.dictionaries(TEXT, JSON, max_size=3),
        "request_id": TEXT,
        "client_ip": st.none() | st.sampled_from(["127.0.0.1", "::1", "203.0.113.9"]),
        "user_agent": TEXT,
    }
)
STORED = [f.attname for f in AuditEntry._meta.concrete_fields if f.name != "id"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=ENTRIES)
def test_a_prepared_insert_stores_what_save_stores(content):
    by_save = AuditEntry.objects.create(**content)
    by_prepared = prepared.insert(AuditEntry(**content))
    assert by_prepared.pk is not None
    assert by_prepared.pk != by_save.pk
    assert not by_prepared._state.adding
    assert by_prepared._state.db == "default"
    stored = AuditEntry.objects.filter(pk__in=[by_save.pk, by_prepared.pk]).order_by("pk")
    rows = list(stored.values_list(*STORED))
    assert rows[0] == rows[1]


def _plain(statement: tuple) -> tuple:
    """SQL and parameters, a JSON parameter's wrapper (psycopg's ``Jsonb``) unwrapped."""
    sql, params = statement
    return sql, [getattr(param, "obj", param) for param in params]


def test_its_sql_is_the_orms_compiled_once(agencies):
    referral = ReferralFactory(to=[agencies["shelter"]])
    for instance in (
        AuditEntry(at=datetime(2026, 1, 1, tzinfo=UTC), action="view", detail={"a": [1]}),
        Event(kind="note.added", referral=referral, survivor_ref="R", at=datetime.now(UTC)),
    ):
        for source in ("", "guard"):
            first = prepared.insert_of(instance, connection, source=source)
            again = prepared.insert_of(instance, connection, source=source)
            compiled = prepared._compiled_insert(
                instance,
                [f for f in type(instance)._meta.local_concrete_fields if not f.primary_key],
                connection,
                source,
            )
            assert _plain(first) == _plain(again) == _plain(compiled)
            assert (" FROM guard RETURNING " in first[0]) == bool(source)


def test_it_sends_the_signals_save_sends(agencies):
    """The history row's field diff (django-auditlog listens to ``post_save``) and any
    ``pre_save`` listener see the row as ``save()`` shows it to them."""
    referral = ReferralFactory(to=[agencies["shelter"]])
    recipient = referral.recipients.get()
    seen = []

    def listener(signal, **kwargs):
        seen.append((signal, kwargs["instance"].pk, kwargs.get("created"), kwargs["raw"]))

    for signal in (signals.pre_save, signals.post_save):
        signal.connect(listener, sender=StatusChange, dispatch_uid=f"test-{id(signal)}")
    try:
        change = prepared.insert(
            StatusChange(
                recipient_status=recipient,
                from_status="requested",
                to_status="received",
                action="receive",
                reason="Private words.",
            )
        )
    finally:
        for signal in (signals.pre_save, signals.post_save):
            signal.disconnect(sender=StatusChange, dispatch_uid=f"test-{id(signal)}")
    assert seen == [
        (signals.pre_save, None, None, False),
        (signals.post_save, change.pk, True, False),
    ]
    assert StatusChange.objects.get(pk=change.pk).reason == "Private words."


def test_a_key_comes_back_as_its_field_holds_it(agencies):
    """A UUID key the database returns as text (SQLite) is a ``UUID`` again, as
    ``save()`` leaves it; an integer key an ``int``."""
    referral = ReferralFactory(to=[agencies["shelter"]])
    note = CaseNote(referral=referral, author=referral.created_by, author_agency=agencies["police"])
    note.text = "Private words."
    chosen = note.pk
    prepared.insert(note)
    assert isinstance(note.pk, uuid.UUID)
    assert note.pk == chosen
    event = prepared.insert(
        Event(kind="note.added", referral=referral, survivor_ref="R", at=datetime.now(UTC))
    )
    assert type(event.pk) is int
