"""The sealing's statements run uncompiled (``audit.sealer``): the ledger lines it
writes are stored byte for byte as ``bulk_create`` stored them (existing chains and
ledgers must still verify), and the field-diff rows it digests are the ORM query's."""

from datetime import UTC, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import field_digest, sealer
from audit.ledger import LEDGER_FIELDS
from audit.models import Disclosure

text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
ids = st.lists(st.text("0123456789abcdef-", min_size=1, max_size=12), max_size=3)
line = st.fixed_dictionaries(
    {
        "entry_seq": st.integers(1, 2**40),
        "at": st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        "action": st.sampled_from(["view", "list", "transition"]),
        "object_type": st.sampled_from(["referral", "survivor", ""]),
        "actor_user_id": st.none() | st.integers(1, 2**40),
        "actor_username": text,
        "actor_agency_id": st.none() | st.integers(1, 2**40),
        "actor_agency": text,
        "actor_role": st.sampled_from(["caseworker", "liaison", ""]),
        "object_id": text,
        "survivor_ref": st.text("ABCDEFGHJKMNPQRSTVWXYZ0123456789-", max_size=16),
        "categories": st.lists(st.sampled_from(["identity", "contact", "health", "ünïcode"])),
        "consent_ids": ids,
        "basis": st.sampled_from(["consent", "emergency"]),
        "emergency_access_ids": ids,
    }
)


def _stored(pks) -> list[tuple]:
    columns = ", ".join(connection.ops.quote_name(name) for name in LEDGER_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM audit_disclosure WHERE id IN ({', '.join(['%s'] * len(pks))})"  # noqa: S608
            " ORDER BY id",
            list(pks),
        )
        return cursor.fetchall()


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(line, min_size=1, max_size=4))
def test_ledger_lines_are_stored_as_bulk_create_stored_them(lines):
    before = Disclosure.objects.order_by("-id").values_list("id", flat=True).first() or 0
    Disclosure.objects.bulk_create([Disclosure(**line) for line in lines])
    by_orm = list(
        Disclosure.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True)
    )
    sealer._write_lines(lines)
    by_sealer = list(
        Disclosure.objects.filter(id__gt=by_orm[-1]).order_by("id").values_list("id", flat=True)
    )
    assert len(by_sealer) == len(lines)
    assert _stored(by_sealer) == _stored(by_orm)


@pytest.mark.django_db
@pytest.mark.parametrize("requests", [0, 1, 2, 3, 5, 511, 512, 513, 700])
def test_the_field_diffs_digested_are_the_orm_querys_rows(requests):
    kind = ContentType.objects.get_for_model(Disclosure)
    started = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    LogEntry.objects.bulk_create(
        LogEntry(
            content_type=kind,
            object_pk=str(n),
            object_id=n,
            object_repr=f"röw {n}",
            action=n % 3,
            changes={"status": ["a", "b"], "n": [n, None]},
            cid=f"req-{n % max(requests, 1)}" if requests else None,
            remote_addr="10.0.0.1" if n % 2 else None,
            timestamp=started + timedelta(microseconds=n),
        )
        for n in range(2 * max(requests, 1))
    )
    wanted = [f"req-{n}" for n in range(requests)] + ["req-absent"]
    expected: dict[str, list] = {}
    rows = (
        LogEntry.objects.filter(cid__in=wanted).order_by("pk").values_list(*field_digest.ROW_FIELDS)
    )
    for row in rows:
        expected.setdefault(row[9], []).append((row[0], field_digest._row_bytes(row)))
    assert field_digest.rows_by_request(wanted) == expected
    assert field_digest.markers_for(wanted) == {
        cid: field_digest.marker(found) for cid, found in expected.items()
    }
