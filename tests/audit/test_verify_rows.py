"""The row loop's shortcuts (``audit.verify_rows``) give what the definitions give: the
hashed fields named in sorted order (orjson not sorting them when no JSON value may
hold an object), a plain read's ledger line derived inline, the ledger's survivor
columns read as one JSON array, and the checkpoints' prefixes checked per row."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import verify_fast, verify_rows
from audit.chain import GENESIS_HASH, entry_hash
from audit.ledger import disclosed
from audit.models import AuditEntry
from audit.recorder import Actor, record
from audit.verify_range import COLUMNS, _exact_range, verify_range
from tests.audit.test_verify import _ledger_tamper, tamper

AT = datetime(2026, 11, 26, 9, 30, 1, 250000, tzinfo=UTC)
AT_TEXT = "2026-11-26T09:30:01.250000Z"
READS = ("view", "list", "transition")
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
# The JSON columns' values: of the kinds they hold, and of kinds they should not hold.
json_lists = st.lists(st.one_of(texts, texts, st.just("{x}"), st.integers(-3, 3)), max_size=3)
json_values = st.one_of(json_lists, texts, st.none(), st.booleans(), st.dictionaries(texts, texts))
text_lists = st.lists(st.one_of(texts, st.just("{x}")), max_size=3)
items = st.fixed_dictionaries(
    {"referral": texts, "ref": texts, "categories": text_lists, "consents": text_lists}
)
details = st.one_of(
    st.sampled_from([{}, [], None, 0, "", False]),  # none, or falsy
    st.fixed_dictionaries({"items": st.lists(items, max_size=2)}),  # a list page
    st.fixed_dictionaries({"emergency_access": json_lists, "n": st.integers(-(2**63), 2**63 - 1)}),
)


def _entries(lists, detail):
    return st.lists(
        st.fixed_dictionaries(
            {
                "action": st.sampled_from([*READS, "create"]),
                "outcome": st.sampled_from(["allowed", "allowed", "denied"]),
                "survivor_ref": st.sampled_from(["", "S-AAAA2222"]),
                "categories": lists,
                "consent_ids": lists,
                "detail": detail,
                "field_changes": st.sampled_from(["", "", "2:17:" + "a" * 64]),
                "actor_username": texts,
            }
        ),
        min_size=1,
        max_size=5,
    )


def _row(seq: int, previous: str, fields: dict) -> tuple:
    """A stored row in ``COLUMNS`` order (the JSON columns as the text SQLite keeps),
    its hash by the definition."""
    content = {
        "seq": seq,
        "at": AT,
        "actor_user_id": 3,
        "actor_username": "user3",
        "actor_agency_id": 1,
        "actor_agency": "shelter",
        "actor_role": "caseworker",
        "action": "view",
        "object_type": "referral",
        "object_id": "r1",
        "survivor_ref": "S-AAAA2222",
        "categories": ["identity"],
        "consent_ids": ["c1"],
        "outcome": "allowed",
        "detail": {},
        "request_id": "q1",
        "client_ip": None,
        "user_agent": "ua",
        "field_changes": "",
    } | fields
    stored = content | {
        "at": AT_TEXT,
        **{name: json.dumps(content[name]) for name in ("categories", "consent_ids", "detail")},
        "prev_hash": previous,
        "hash": entry_hash(previous, content),
    }
    return tuple(stored[name] for name in COLUMNS)


def _no_fallback(previous, row):
    raise AssertionError(f"entry {row[0]} needed the definition")


def _derived(fields: dict, seq: int) -> list[tuple]:
    """The lines ``audit.ledger.disclosed`` derives, a copy of its entry as a mark."""
    if fields.get("outcome", "allowed") != "allowed" or fields.get("action", "view") not in READS:
        return []
    values = {"object_id": "r1", "survivor_ref": "S-AAAA2222"} | fields
    own = (values["object_id"], values["survivor_ref"], values["categories"])
    own += (values["consent_ids"], "consent", [])
    lines = disclosed(*own[:2], values["categories"], values["consent_ids"], values["detail"])
    return [(seq, verify_rows.COPY) if line == own else (seq, *line) for line in lines]


def _chain(entries: list[dict]) -> list[tuple]:
    rows, previous = [], GENESIS_HASH
    for seq, fields in enumerate(entries, start=1):
        rows.append(_row(seq, previous, fields))
        previous = rows[-1][-1]
    return rows


@settings(max_examples=200, deadline=None)
@given(entries=_entries(json_lists, details))
def test_the_row_loop_hashes_and_derives_lines_as_the_definitions_do(entries):
    """Without the definition's fallback, every row hashes (orjson sorting or not), and
    the lines expected of it are the ones ``disclosed`` derives."""
    markers = []
    expected = verify_rows._plain(
        _chain(entries), 1, GENESIS_HASH, markers, verify_rows.Parsed(), _no_fallback, {}
    )
    numbered = list(enumerate(entries, start=1))
    assert expected == [line for seq, fields in numbered for line in _derived(fields, seq)]
    assert [seq for seq, _, _ in markers] == [
        seq for seq, fields in numbered if fields["field_changes"]
    ]


@settings(max_examples=100, deadline=None)
@given(entries=_entries(json_values, st.one_of(details, json_values)))
def test_values_of_other_kinds_hash_or_fail_as_the_definitions_do(entries):
    """Where ``disclosed`` cannot read the values, the row loop fails too (and the walk
    decides); elsewhere the two agree."""
    rows = _chain(entries)
    try:
        derived = [
            line for seq, fields in enumerate(entries, start=1) for line in _derived(fields, seq)
        ]
    except TypeError:
        with pytest.raises(TypeError):
            verify_rows._plain(rows, 1, GENESIS_HASH, [], verify_rows.Parsed(), _no_fallback, {})
        return
    assert derived == verify_rows._plain(
        rows, 1, GENESIS_HASH, [], verify_rows.Parsed(), _no_fallback, {}
    )


def test_a_row_out_of_place_or_unlinked_fails_the_row_loop():
    first = _row(1, GENESIS_HASH, {})
    second = _row(2, first[-1], {"detail": {"n": 1}})
    loop = verify_rows._plain
    assert loop([first, second], 1, GENESIS_HASH, [], verify_rows.Parsed(), _no_fallback, {})
    assert (
        loop([first, second], 2, GENESIS_HASH, [], verify_rows.Parsed(), _no_fallback, {}) is None
    )
    assert (
        loop([second, first], 1, GENESIS_HASH, [], verify_rows.Parsed(), _no_fallback, {}) is None
    )
    assert loop([second], 2, "0" * 63 + "1", [], verify_rows.Parsed(), _no_fallback, {}) is None


def test_what_the_checkpoints_say_of_an_entry_is_one_prefix():
    said = verify_fast.signed_prefixes({5: "ab" * 32, 6: "cd" * 32}, {5: "abab", 6: "ff", 7: "12"})
    assert said == {5: "ab" * 32, 6: verify_fast._CONTRADICTED, 7: "12"}
    # no stored hash (hex digits) begins with the mark of a contradiction
    assert not any(("0123456789abcdef"[n] * 64).startswith(said[6]) for n in range(16))


@pytest.mark.django_db
class TestPlainReads:
    """A trail of reads with no detail (the shortcuts' rows), checked in chunks."""

    ENTRIES = 10

    @staticmethod
    def trail():
        for i in range(TestPlainReads.ENTRIES):
            record(
                action=("view", "transition", "create", "list")[i % 4],
                actor=Actor(user_id=i, username="zoë", agency="shelter"),
                object_type="referral",
                object_id=f"r{i}",
                survivor_ref="" if i == 5 else f"S-AAAA{i:04d}",
                categories=["identity", "contact"] if i % 3 else [],
                consent_ids=[f"c{i}"] if i % 5 != 4 else [],
            )

    @pytest.mark.parametrize("chunk", [1, 3, 1000])
    def test_an_intact_trail_passes_as_the_walk_passes_it(self, chunk, monkeypatch):
        monkeypatch.setattr(verify_fast, "CHUNK", chunk)
        self.trail()
        exact = _exact_range(1, self.ENTRIES, None, {}, {})
        assert exact.failure is None
        assert exact.ledger is not None
        assert verify_fast.fast_range(1, self.ENTRIES, None, {}, {}) == exact

    @pytest.mark.parametrize("chunk", [1, 3, 1000])
    @pytest.mark.parametrize(
        ("table", "sql"),
        [
            ("entry", "UPDATE audit_auditentry SET consent_ids = '[]' WHERE seq = 1"),
            ("entry", "UPDATE audit_auditentry SET survivor_ref = '' WHERE seq = 2"),
            ("entry", "UPDATE audit_auditentry SET categories = '[\"x\"]' WHERE seq = 7"),
            ("entry", "UPDATE audit_auditentry SET actor_username = 'zoe' WHERE seq = 9"),
            ("ledger", "UPDATE audit_disclosure SET object_id = 'r99' WHERE entry_seq = 1"),
            ("ledger", "UPDATE audit_disclosure SET categories = '[]' WHERE entry_seq = 9"),
            ("ledger", "UPDATE audit_disclosure SET consent_ids = '[\"c\"]' WHERE entry_seq = 8"),
            ("ledger", "UPDATE audit_disclosure SET categories = '\"x\"' WHERE entry_seq = 2"),
            ("ledger", "UPDATE audit_disclosure SET basis = 'emergency' WHERE entry_seq = 4"),
            ("ledger", "DELETE FROM audit_disclosure WHERE entry_seq = 9"),
        ],
    )
    def test_a_tampered_trail_is_handed_to_the_walk(self, table, sql, chunk, monkeypatch):
        monkeypatch.setattr(verify_fast, "CHUNK", chunk)
        self.trail()
        (tamper if table == "entry" else _ledger_tamper)(sql)
        exact = _exact_range(1, self.ENTRIES, None, {}, {})
        assert exact.failure is not None
        assert verify_fast.fast_range(1, self.ENTRIES, None, {}, {}) is None
        assert verify_range(1, self.ENTRIES, None, {}, {}) == exact

    def test_a_ledger_column_the_database_cannot_read_as_json_goes_to_the_walk(self):
        self.trail()
        if connection.vendor == "sqlite":  # past the CHECK, as a raw writer could
            _ledger_tamper("PRAGMA ignore_check_constraints = ON")
            _ledger_tamper("UPDATE audit_disclosure SET categories = '[' WHERE entry_seq = 8")
            _ledger_tamper("PRAGMA ignore_check_constraints = OFF")
        else:  # jsonb holds JSON only: a value of the wrong kind instead
            _ledger_tamper("UPDATE audit_disclosure SET categories = '{}' WHERE entry_seq = 8")
        assert verify_fast.fast_range(1, self.ENTRIES, None, {}, {}) is None

    @pytest.mark.parametrize("chunk", [1, 3, 1000])
    def test_a_pinned_entry_inside_a_window_is_checked_against_both(self, chunk, monkeypatch):
        monkeypatch.setattr(verify_fast, "CHUNK", chunk)
        self.trail()
        hashes = dict(AuditEntry.objects.values_list("seq", "hash"))
        window = {seq: digest[:16] for seq, digest in hashes.items()}
        pinned = {4: hashes[4], self.ENTRIES: hashes[self.ENTRIES]}
        assert verify_fast.fast_range(1, self.ENTRIES, None, pinned, window) is not None
        # the window's prefix of a pinned entry altered: signed twice, differently
        wrong = window | {4: "0" * 16}
        assert verify_fast.fast_range(1, self.ENTRIES, None, pinned, wrong) is None
        assert verify_range(1, self.ENTRIES, None, pinned, wrong).failure == (
            4,
            "differs from a signed checkpoint",
        )
