"""The chunked check (``audit.verify_fast``) and the entry-by-entry walk agree: the
chunked one passes exactly the ranges the walk passes, with the same result, and
hands every other range to the walk (which names the first bad entry)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import verify_fast, verify_rows
from audit.chain import HASHED_FIELDS
from audit.models import AuditEntry
from audit.recorder import Actor, record
from audit.verify_range import COLUMNS, _exact_range, verify_range
from tests.audit.test_verify import _ledger_tamper, tamper

pytestmark = pytest.mark.django_db

ENTRIES = 12


def _trail():
    """Reads that disclose (ledger lines, one a list page of two), non-ASCII and an
    address, refusals that do not: every column the row loop reads."""
    for i in range(ENTRIES):
        if i % 4 == 3:
            record(
                action="list",
                actor=Actor(user_id=i, username="zoë", agency="shelter"),
                object_type="referral",
                detail={
                    "count": 2,
                    "filters": {
                        "items": [
                            {"referral": "r1", "ref": "S-AAAA2222", "categories": ["b", "a"]}
                            | {"consents": [f"c{i}"]},
                            {"referral": "r2", "ref": "S-BBBB3333", "categories": []}
                            | {"consents": [f"d{i}"]},
                        ]
                    },
                },
            )
        else:
            record(
                action="view" if i % 4 else "denied",
                outcome="allowed" if i % 4 else "denied",
                actor=Actor(user_id=i, agency="shelter"),
                object_type="referral",
                object_id=f"r{i}",
                survivor_ref="S-AAAA2222",
                categories=["identity", "contact"],
                consent_ids=[f"c{i}"] if i % 4 else [],
                detail={"é": "ü", "n": i},
            )


TAMPERS = [
    ("entry", "UPDATE audit_auditentry SET survivor_ref = 'S-FORGED00' WHERE seq = 5"),
    ("entry", "UPDATE audit_auditentry SET detail = '{\"n\": 99}' WHERE seq = 6"),
    ("entry", "UPDATE audit_auditentry SET prev_hash = 'ab' WHERE seq = 7"),
    ("entry", "DELETE FROM audit_auditentry WHERE seq = 8"),
    ("entry", "UPDATE audit_auditentry SET at = '2020-01-01 00:00:00' WHERE seq = 3"),
    ("ledger", "DELETE FROM audit_disclosure WHERE entry_seq = 2"),
    ("ledger", "UPDATE audit_disclosure SET categories = '[\"x\"]' WHERE entry_seq = 4"),
    (
        "ledger",
        "UPDATE audit_disclosure SET id = id + 1000 WHERE entry_seq = 6",  # out of order
    ),
    (
        "ledger",
        "INSERT INTO audit_disclosure (entry_seq, at, survivor_ref, actor_user_id, "
        "actor_username, actor_agency_id, actor_agency, actor_role, action, object_type, "
        "object_id, categories, consent_ids, basis, emergency_access_ids) "
        "SELECT 10, at, survivor_ref, actor_user_id, "
        "actor_username, actor_agency_id, actor_agency, actor_role, action, object_type, "
        "object_id, categories, consent_ids, basis, emergency_access_ids "
        "FROM audit_disclosure WHERE entry_seq = 2",
    ),
    # the columns a line repeats from its entry, which the database compares
    ("ledger", "UPDATE audit_disclosure SET actor_username = 'someone' WHERE entry_seq = 2"),
    ("ledger", "UPDATE audit_disclosure SET actor_user_id = NULL WHERE entry_seq = 3"),
    ("ledger", "UPDATE audit_disclosure SET actor_agency_id = 7 WHERE entry_seq = 6"),
    ("ledger", "UPDATE audit_disclosure SET action = 'list' WHERE entry_seq = 7"),
    ("ledger", "UPDATE audit_disclosure SET object_type = 'x' WHERE entry_seq = 8"),
    ("ledger", "UPDATE audit_disclosure SET at = '2020-01-01 00:00:00' WHERE entry_seq = 10"),
    ("ledger", "UPDATE audit_disclosure SET entry_seq = 3 WHERE entry_seq = 2"),
    ("ledger", "UPDATE audit_disclosure SET entry_seq = 99 WHERE entry_seq = 11"),
    # the survivor's columns, which Python derives from the entry
    ("ledger", "UPDATE audit_disclosure SET object_id = 'r99' WHERE entry_seq = 6"),
    ("ledger", "UPDATE audit_disclosure SET survivor_ref = 'S-CCCC4444' WHERE entry_seq = 12"),
    ("ledger", "UPDATE audit_disclosure SET consent_ids = '[]' WHERE entry_seq = 3"),
    ("ledger", "UPDATE audit_disclosure SET basis = 'emergency' WHERE entry_seq = 7"),
    ("ledger", "UPDATE audit_disclosure SET emergency_access_ids = '[\"e\"]' WHERE entry_seq = 10"),
]


@pytest.mark.parametrize("chunk", [1, 5, 1000])
def test_an_intact_trail_passes_the_chunked_check_as_the_walk_passes_it(chunk, monkeypatch):
    monkeypatch.setattr(verify_fast, "CHUNK", chunk)
    _trail()
    fast = verify_fast.fast_range(1, ENTRIES, None, {}, {})
    exact = _exact_range(1, ENTRIES, None, {}, {})
    assert fast is not None
    assert exact.failure is None
    assert fast == exact


@pytest.mark.parametrize("chunk", [1, 5, 1000])
@pytest.mark.parametrize(("table", "sql"), TAMPERS)
def test_a_tampered_trail_is_handed_to_the_walk(table, sql, chunk, monkeypatch):
    monkeypatch.setattr(verify_fast, "CHUNK", chunk)
    _trail()
    (tamper if table == "entry" else _ledger_tamper)(sql)
    exact = _exact_range(1, ENTRIES, None, {}, {})
    assert exact.failure is not None
    assert verify_fast.fast_range(1, ENTRIES, None, {}, {}) is None
    assert verify_range(1, ENTRIES, None, {}, {}) == exact


def test_a_stored_time_written_another_way_for_the_same_instant_still_verifies():
    _trail()
    # SQLite keeps times as text, which another writer may spell another way; PostgreSQL
    # stores an instant one way only, so there the rewrite is of the same instant.
    if connection.vendor == "sqlite":
        tamper("UPDATE audit_auditentry SET at = replace(at, ' ', 'T') WHERE seq = 2")
    else:
        tamper("UPDATE audit_auditentry SET at = at + interval '0 seconds' WHERE seq = 2")
    assert _exact_range(1, ENTRIES, None, {}, {}).failure is None
    assert verify_fast.fast_range(1, ENTRIES, None, {}, {}) is not None


@pytest.mark.parametrize("chunk", [1, 5, 1000])
def test_a_ledger_time_written_another_way_for_the_same_instant_still_verifies(chunk, monkeypatch):
    monkeypatch.setattr(verify_fast, "CHUNK", chunk)
    _trail()
    # the database finds the line's time unequal to its entry's; Python compares instants
    if connection.vendor == "sqlite":
        _ledger_tamper("UPDATE audit_disclosure SET at = replace(at, ' ', 'T') WHERE entry_seq = 2")
    else:
        _ledger_tamper("UPDATE audit_disclosure SET at = at + interval '0 seconds'")
    assert _exact_range(1, ENTRIES, None, {}, {}).failure is None
    assert verify_fast.fast_range(1, ENTRIES, None, {}, {}) == _exact_range(
        1, ENTRIES, None, {}, {}
    )


def test_the_ledger_costs_no_query_per_line(monkeypatch):
    """The repeated columns are compared by the database in the one joined query."""
    _trail()
    with CaptureQueriesContext(connection) as few:
        assert verify_fast.fast_range(1, 4, None, {}, {}) is not None
    with CaptureQueriesContext(connection) as many:
        assert verify_fast.fast_range(1, ENTRIES, None, {}, {}) is not None
    assert len(many) == len(few)


def test_a_pinned_checkpoint_that_differs_is_handed_to_the_walk():
    _trail()
    assert verify_fast.fast_range(1, ENTRIES, None, {4: "f" * 64}, {}) is None
    assert verify_range(1, ENTRIES, None, {4: "f" * 64}, {}).failure[0] == 4


def _window(hashes: dict[int, str], wrong: int | None = None) -> dict[int, str]:
    """An exported checkpoint's window over every entry (its first 16 digits each),
    one of them altered."""
    return {seq: ("0" * 16 if seq == wrong else digest[:16]) for seq, digest in hashes.items()}


@pytest.mark.parametrize("chunk", [1, 5, 1000])
def test_a_window_over_every_entry_is_checked_from_the_rows_read(chunk, monkeypatch):
    monkeypatch.setattr(verify_fast, "CHUNK", chunk)
    _trail()
    hashes = dict(AuditEntry.objects.values_list("seq", "hash"))
    pinned = {ENTRIES: hashes[ENTRIES]}
    with CaptureQueriesContext(connection) as plain:
        assert verify_fast.fast_range(1, ENTRIES, None, {}, {}) is not None
    with CaptureQueriesContext(connection) as signed:
        assert verify_fast.fast_range(1, ENTRIES, None, pinned, _window(hashes)) is not None
    # no query per signed entry: the hashes come from the rows the check reads anyway
    assert len(signed) == len(plain)


@pytest.mark.parametrize("chunk", [1, 5, 1000])
@pytest.mark.parametrize("wrong", [1, 5, ENTRIES])
def test_an_entry_that_differs_from_its_window_is_handed_to_the_walk(wrong, chunk, monkeypatch):
    monkeypatch.setattr(verify_fast, "CHUNK", chunk)
    _trail()
    window = _window(dict(AuditEntry.objects.values_list("seq", "hash")), wrong)
    assert verify_fast.fast_range(1, ENTRIES, None, {}, window) is None
    assert verify_range(1, ENTRIES, None, {}, window).failure == (
        wrong,
        "differs from a signed checkpoint",
    )


def test_the_row_loops_unpack_the_columns_in_their_order():
    """``verify_rows._plain`` unpacks a row of ``COLUMNS`` by name in this order."""
    assert COLUMNS[: len(HASHED_FIELDS)] == HASHED_FIELDS
    assert HASHED_FIELDS + COLUMNS[len(HASHED_FIELDS) :] == (
        *("seq", "at", "actor_user_id", "actor_username", "actor_agency_id", "actor_agency"),
        *("actor_role", "action", "object_type", "object_id", "survivor_ref", "categories"),
        *("consent_ids", "outcome", "detail", "request_id", "client_ip", "user_agent"),
        *("field_changes", "prev_hash", "hash"),
    )
    # The order verify_rows compares a line that copies its entry in.
    assert (
        *("object_id", "survivor_ref", "categories", "consent_ids"),
        *("basis", "emergency_access_ids"),
    ) == verify_rows._SUBJECT


def test_the_row_loop_hashes_every_entry_without_the_definitions_fallback():
    """Its dict display of the hashed fields gives the definition's bytes (a field it
    missed would only slow verification down, through the fallback, never fool it)."""
    _trail()
    rows_of = verify_rows.Rows()
    with connection.cursor() as cursor:
        cursor.execute(rows_of.sql, [1, ENTRIES])
        rows = cursor.fetchall()

    def fallback(previous, row):
        raise AssertionError(f"entry {row[0]} needed the definition")

    expected = verify_rows._plain(rows, 1, rows[0][-2], [], verify_rows.Parsed(), fallback, {})
    # the views' lines repeat their entry's survivor (a mark), the list pages' do not
    assert [seq for seq, *line in expected if tuple(line) == (verify_rows.COPY,)] == [
        2,
        3,
        6,
        7,
        10,
        11,
    ]
    assert [line[:3] for line in expected if len(line) > 2] == [
        (seq, referral, ref)
        for seq in (4, 8, 12)
        for referral, ref in (("r1", "S-AAAA2222"), ("r2", "S-BBBB3333"))
    ]


def test_a_ledger_line_equal_to_its_entry_but_spelled_otherwise_gets_the_walks_verdict():
    _trail()
    if connection.vendor == "sqlite":  # PostgreSQL's jsonb keeps one spelling
        _ledger_tamper(
            "UPDATE audit_disclosure SET categories = replace(categories, ', ', ',') "
            "WHERE entry_seq = 2"
        )
    exact = _exact_range(1, ENTRIES, None, {}, {})
    assert exact.failure is None
    if connection.vendor == "sqlite":  # not a copy of the entry's text: the walk decides
        assert verify_fast.fast_range(1, ENTRIES, None, {}, {}) is None
    assert verify_range(1, ENTRIES, None, {}, {}) == exact
