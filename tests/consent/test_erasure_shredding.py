"""The acceptance test of erasure: no decryptable PII remains in the database, in a copy
of it taken before the erasure, or in the exports — tried with the key store and the
field keys as they are after the erasure, on every stored value there is.

The copy is a real backup: SQLite's online backup of the database file (embedded
profile), and on either database a dump of every row of every table."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
from django.db import connection, connections

from consent import data_keys
from consent.crypto import DecryptionFailed
from tests.conftest import client_for
from tests.coordination import erasure_world
from tests.coordination.erasure_world import CANARIES, erase

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker_connections_closed"),
]


def dump(cursor, tables) -> list:
    """Every value of every row of ``tables``: a logical backup."""
    values = []
    for table in tables:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
        for row in cursor.fetchall():
            values.extend(row)
    return values


def dump_database() -> list:
    with connection.cursor() as cursor:
        return dump(cursor, connection.introspection.table_names(cursor))


def readable(values) -> set[str]:
    """The canaries an attacker with today's key store and field keys reads in
    ``values``: in clear, or in any value that decrypts."""
    texts = []
    for value in values:
        if isinstance(value, bytes | memoryview):
            value = bytes(value).decode("latin-1")
        if not isinstance(value, str):
            continue
        texts.append(value)
        # Not a token, or one that nothing opens any more.
        with contextlib.suppress(DecryptionFailed, ValueError, UnicodeError):
            texts.append(data_keys.open_token(value))
    found = "\n".join(texts)
    return {canary for canary in CANARIES.values() if canary in found}


def exports(members) -> str:
    compliance = client_for(members["compliance"])
    return "\n".join(
        compliance.get("/api/v1/audit/entries/", {"format": kind}).getvalue().decode()
        for kind in ("csv", "json")
    )


def test_a_dump_from_before_the_erasure_holds_nothing_decryptable_after_it(members, agencies):
    world = erasure_world.build(members, agencies)
    before = dump_database()
    assert readable(before) == set(CANARIES.values()), "the dump holds every canary, readably"
    assert erase(members["liaison"], world["survivor"]).status_code == 200

    assert readable(before) == set(), "the copy from before: nothing decrypts any more"
    assert readable(dump_database()) == set(), "the live database"
    assert readable([exports(members)]) == set(), "the audit exports (CSV and JSON)"


@pytest.mark.embedded
def test_a_database_file_copied_before_the_erasure_holds_nothing_decryptable(
    members, agencies, tmp_path
):
    world = erasure_world.build(members, agencies)
    copy = tmp_path / "before-erasure.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)
    keys_file = connections["keys"].settings_dict["NAME"]
    wrapped = data_keys._keys().get(pk=world["survivor"]).wrapped

    def file_values() -> list:
        with sqlite3.connect(copy) as source:
            cursor = source.cursor()
            names = cursor.execute("SELECT name FROM sqlite_master WHERE type='table'")
            return dump(cursor, [name for (name,) in names.fetchall()])

    assert readable(file_values()) == set(CANARIES.values())
    assert erase(members["liaison"], world["survivor"]).status_code == 200

    assert readable(file_values()) == set()
    # The key store keeps no trace of the destroyed key: not in a row, not in a free
    # page (secure_delete), not in a write-ahead log (it keeps none).
    with open(keys_file, "rb") as store:
        assert wrapped.encode() not in store.read()
    assert connections["keys"].cursor().execute("PRAGMA journal_mode").fetchone()[0] != "wal"
