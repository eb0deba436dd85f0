"""The de-identified referral report: who may read it, what each reader counts (held to
the per-referral access rule), the numbers, suppression as published, CSV, validation
and the audit entry of every read."""

import csv
import io
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.models import Role
from audit.models import Action, AuditEntry
from consent.models import ConsentRevocation
from coordination import access, report_figures, reports, states
from coordination.models import RecipientStatus
from coordination.suppression import SHOWN_AS, THRESHOLD
from tests.conftest import client_for
from tests.factories import ConsentFactory, MemberFactory, ReferralFactory, SurvivorFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/referrals/"
HOUR = timedelta(hours=1)
# A status mix that every reader sees differently: each (status, consent) pair once.
STATUSES = [
    states.AWAITING_CONSENT,
    states.REQUESTED,
    states.ACCEPTED,
    states.REJECTED,
    states.COMPLETED,
    states.CONSENT_REVOKED,
]
CONSENTS = ["none", "plain", "status_updates", "revoked"]


@pytest.fixture
def admins(agencies, members):
    return {
        "network": members["network_admin"],
        "shelter": members["admin"],
        "police": MemberFactory(agency=agencies["police"], role=Role.AGENCY_ADMIN),
        "legal": MemberFactory(agency=agencies["legal"], role=Role.AGENCY_ADMIN),
        "outsider": MemberFactory(agency=agencies["outsider"], role=Role.AGENCY_ADMIN),
    }


def _referral(
    agencies,
    members,
    *,
    to,
    status,
    consent="none",
    hours=1,
    needs=("shelter",),
    region="north",
    urgency="routine",
):
    """A referral from the police to ``to`` in ``status``, under ``consent`` for ``to``;
    an accepted-or-later status was accepted ``hours`` after the referral."""
    survivor = SurvivorFactory(owner_agency=agencies["police"], created_by=members["liaison"].user)
    referral = ReferralFactory(
        survivor=survivor, to=[to], needs=list(needs), region=region, urgency=urgency
    )
    if consent != "none":
        categories = ["identity", "status_updates"] if consent == "status_updates" else ["identity"]
        given = ConsentFactory(survivor=survivor, categories=categories, recipients=[to])
        if consent == "revoked":
            ConsentRevocation.objects.create(consent=given, channel="oral", reason="x")
    accepted_at = None
    if status in (states.ACCEPTED, states.IN_PROGRESS, states.ON_HOLD, states.COMPLETED):
        accepted_at = referral.created_at + hours * HOUR
    RecipientStatus.objects.filter(referral=referral).update(status=status, accepted_at=accepted_at)
    return referral


def _mixed_world(agencies, members):
    for to, status, consent in itertools.product(
        [agencies["shelter"], agencies["legal"]], STATUSES, CONSENTS
    ):
        _referral(agencies, members, to=to, status=status, consent=consent)


def _known_by_the_rule(agency_id):
    """What the agency may know of each status, asked of the per-referral rule: as
    referrer the status ``status_seen_by_referrer`` shows; as recipient its own, while
    it may see the referral."""
    known = {}
    for row in RecipientStatus.objects.select_related("referral"):
        referral = row.referral
        if referral.referring_agency_id == agency_id:
            back = access.back_releases(referral).get(row.agency_id)
            seen = access.status_seen_by_referrer(row.status, back)
        elif row.agency_id == agency_id and access.release(agency_id, referral).visible:
            seen = row.status
        else:
            continue
        known[row.pk] = (seen, row.accepted_at if seen == row.status else None)
    return known


@pytest.mark.parametrize("reader", ["network", "shelter", "police", "legal", "outsider"])
def test_each_reader_counts_exactly_what_the_access_rule_lets_it_know(
    reader, agencies, members, admins
):
    _mixed_world(agencies, members)
    agency_id = None if reader == "network" else admins[reader].agency_id
    counted = {
        pk: (status, accepted_at)
        for pk, status, accepted_at in access.report_statuses(
            RecipientStatus.objects.all(), agency_id
        ).values_list("pk", "seen_status", "seen_accepted_at")
    }
    if agency_id is None:
        expected = {r.pk: (r.status, r.accepted_at) for r in RecipientStatus.objects.all()}
    else:
        expected = _known_by_the_rule(agency_id)
    assert counted == expected
    if reader == "outsider":
        assert counted == {}


@pytest.mark.parametrize("member", ["liaison", "caseworker", "compliance", "outsider"])
def test_other_roles_are_refused_with_a_stable_code(member, members):
    response = client_for(members[member]).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_is_refused(db):
    response = client_for().get(URL)
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def _accepted_world(agencies, members, count=12):
    for hours in range(1, count + 1):
        _referral(
            agencies,
            members,
            to=agencies["shelter"],
            status=states.ACCEPTED,
            consent="status_updates",
            hours=hours,
            urgency="high",
        )
    for _ in range(THRESHOLD):
        _referral(
            agencies,
            members,
            to=agencies["shelter"],
            status=states.REJECTED,
            consent="status_updates",
            urgency="high",
        )


def test_numbers_rates_and_nearest_rank_percentiles(agencies, members, admins):
    _accepted_world(agencies, members)
    body = client_for(admins["network"]).get(URL, {"group_by": "agency"}).json()
    assert [row["group"] for row in body["rows"]] == ["shelter"]
    high = body["rows"][0]
    assert high["referrals"] == high["requests"] == 23
    assert (high["accepted"], high["declined"]) == (12, 11)
    assert high["acceptance_rate"] == round(12 / 23, 3)
    assert high["decline_rate"] == round(11 / 23, 3)
    # Waits of 1..12 hours: the median is the 6th (ceil(0.5 * 12)), the 90th
    # percentile the 11th (ceil(0.9 * 12)).
    assert high["median_hours_to_acceptance"] == 6.0
    assert high["p90_hours_to_acceptance"] == 11.0
    assert high["suppressed"] == []
    assert body["scope"] == "network"
    assert body["threshold"] == THRESHOLD


def test_small_cells_are_withheld_and_their_total_too(agencies, members, admins):
    _accepted_world(agencies, members)
    for _ in range(12):
        _referral(agencies, members, to=agencies["legal"], status=states.REQUESTED)
    _referral(agencies, members, to=agencies["legal"], status=states.REQUESTED, urgency="emergency")
    body = client_for(admins["network"]).get(URL, {"group_by": "urgency"}).json()
    rows = {row["group"]: row for row in body["rows"]}
    assert list(rows) == ["emergency", "high", "routine"]  # every choice, zeros too
    assert rows["emergency"]["requests"] is None
    assert "requests" in rows["emergency"]["suppressed"]
    # The next smallest hides it from any total; this report's total is withheld too.
    assert rows["routine"]["requests"] is None
    assert body["total"]["requests"] is None
    assert rows["high"]["requests"] == 23
    assert rows["emergency"]["acceptance_rate"] is None
    assert "acceptance_rate" in rows["emergency"]["suppressed"]


def test_when_the_small_cells_sum_below_11_every_cell_is_withheld(agencies, members, admins):
    _accepted_world(agencies, members)
    _referral(agencies, members, to=agencies["legal"], status=states.REQUESTED)
    body = client_for(admins["network"]).get(URL, {"group_by": "urgency"}).json()
    # emergency 0 and routine 1 could be told apart from high 23 by the total (24).
    assert [row["requests"] for row in body["rows"]] == [None, None, None]


def test_an_agency_admin_reads_acceptance_only_where_consent_tells_it(agencies, members, admins):
    for hours in range(1, 13):
        _referral(
            agencies,
            members,
            to=agencies["shelter"],
            status=states.ACCEPTED,
            consent="plain",
            hours=hours,
        )
    police = client_for(admins["police"]).get(URL, {"group_by": "agency"}).json()
    shelter = client_for(admins["shelter"]).get(URL, {"group_by": "agency"}).json()
    # Without ``status_updates`` the referrer reads them as requested: none accepted.
    assert police["rows"][0]["requests"] == 12
    assert police["rows"][0]["accepted"] is None
    assert police["rows"][0]["median_hours_to_acceptance"] is None
    assert shelter["rows"][0]["accepted"] == 12
    assert shelter["rows"][0]["median_hours_to_acceptance"] == 6.0
    assert (police["scope"], shelter["scope"]) == ("police", "shelter")


def test_since_and_until_bound_the_referrals(agencies, members, admins, time_machine):
    start = timezone.now()
    time_machine.move_to(start - timedelta(days=10))
    _accepted_world(agencies, members)
    time_machine.move_to(start)
    body = (
        client_for(admins["network"])
        .get(URL, {"group_by": "agency", "since": (start - timedelta(days=1)).isoformat()})
        .json()
    )
    assert body["rows"] == []
    assert body["total"]["requests"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"group_by": "survivor"},
        {"since": "yesterday"},
        {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"format": "xml"},
    ],
)
def test_bad_parameters_are_a_400_with_a_code_and_write_nothing(query, admins):
    before = AuditEntry.objects.exclude(action=Action.DENIED).count()
    response = client_for(admins["network"]).get(URL, query)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert AuditEntry.objects.exclude(action=Action.DENIED).count() == before


def test_every_read_and_export_is_audited_without_pii(agencies, members, admins):
    _accepted_world(agencies, members)
    client = client_for(admins["shelter"])
    client.get(URL, {"group_by": "need"})
    client.get(URL, {"group_by": "region", "format": "csv"})
    entries = list(AuditEntry.objects.filter(object_type="referral_report").order_by("seq"))
    assert [(e.action, e.detail["group_by"]) for e in entries] == [
        (Action.VIEW, "need"),
        (Action.EXPORT, "region"),
    ]
    assert entries[1].detail["format"] == "csv"
    assert all(e.detail["scope"] == "shelter" and e.survivor_ref == "" for e in entries)
    refs = set(RecipientStatus.objects.values_list("referral__survivor__ref", flat=True))
    names = {"canary-given"}
    for entry in entries:
        text = str(entry.detail)
        assert not any(ref in text for ref in refs)
        assert not any(name in text for name in names)


def test_csv_by_format_or_accept_with_small_cells_read_as_under_11(agencies, members, admins):
    _accepted_world(agencies, members)
    _referral(
        agencies, members, to=agencies["legal"], status=states.REQUESTED, region="=HYPERLINK(1)"
    )
    client = client_for(admins["network"])
    by_format = client.get(URL, {"group_by": "region", "format": "csv"})
    by_accept = client.get(URL, {"group_by": "region"}, HTTP_ACCEPT="text/csv")
    assert by_format["Content-Type"].startswith("text/csv")
    assert by_format.content == by_accept.content
    rows = list(csv.reader(io.StringIO(by_format.content.decode())))
    assert rows[0][:3] == ["region", "referrals", "requests"]
    cells = {row[0]: row for row in rows[1:]}
    assert cells["'=HYPERLINK(1)"][1] == SHOWN_AS
    assert cells["north"][1] == SHOWN_AS  # 23, hiding the other region's 1
    assert cells["total"][1] == SHOWN_AS


def test_a_csv_request_that_fails_answers_json(admins):
    response = client_for(admins["network"]).get(URL, {"group_by": "x"}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid"


def test_acceptance_time_is_stamped_once_by_the_status_move(agencies, members):
    from coordination.services.statuses import status_move

    referral = _referral(
        agencies, members, to=agencies["shelter"], status=states.RECEIVED, consent="plain"
    )
    recipient = RecipientStatus.objects.get(referral=referral)
    moved = status_move(recipient, "accept")
    assert moved.accepted_at is not None
    started = status_move(moved, "start")
    assert started.accepted_at == moved.accepted_at
    assert moved.accepted_at == moved.changes.get(to_status=states.ACCEPTED).at


def _nearest_rank(values, tenths):
    ordered = sorted(values)
    return ordered[-(-len(ordered) * tenths // 10) - 1] if ordered else None


def _expected(group_by):
    """Every figure counted row by row in Python, as the SQL must find it."""
    rows = list(RecipientStatus.objects.select_related("referral", "agency"))

    def keys(row):
        return {
            "need": row.referral.needs,
            "region": [row.referral.region],
            "urgency": [row.referral.urgency],
            "status": [row.status],
            "agency": [row.agency.slug],
        }[group_by]

    def figures(chosen):
        waits = [
            int((r.accepted_at - r.referral.created_at).total_seconds() // 3600)
            for r in chosen
            if r.accepted_at
        ]
        found = {
            "referrals": len({r.referral_id for r in chosen}),
            "requests": len(chosen),
            "accepted": len(waits),
            "declined": sum(r.status == states.REJECTED for r in chosen),
        }
        if waits:
            found["median_hours_to_acceptance"] = _nearest_rank(waits, 5)
            found["p90_hours_to_acceptance"] = _nearest_rank(waits, 9)
        return found

    groups = {key for row in rows for key in keys(row)}
    return {key: figures([r for r in rows if key in keys(r)]) for key in groups}, figures(rows)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    referrals=st.lists(
        st.tuples(
            st.lists(st.sampled_from(["shelter", "legal", "medical"]), min_size=1, unique=True),
            st.sampled_from(["north", "south", ""]),
            st.sampled_from(["high", "routine"]),
            st.sampled_from([*STATUSES, states.IN_PROGRESS]),
            st.integers(0, 400 * 60),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_sql_figures_match_a_count_row_by_row(referrals, agencies, members):
    for needs, region, urgency, status, minutes in referrals:
        referral = _referral(
            agencies,
            members,
            to=agencies["shelter"],
            status=status,
            needs=needs,
            region=region,
            urgency=urgency,
            hours=minutes / 60,
        )
        RecipientStatus.objects.create(referral=referral, agency=agencies["legal"])
    statuses = access.report_statuses(RecipientStatus.objects.all(), None)
    for group_by in reports.GROUPINGS:
        rows, total = report_figures.figures(statuses, group_by)
        expected_rows, expected_total = _expected(group_by)
        measured = {key: raw for key, raw in rows if raw["requests"]}
        if group_by == "status":  # counts only
            expected_rows = {
                k: {n: v[n] for n in ("referrals", "requests", "accepted", "declined")}
                for k, v in expected_rows.items()
            }
            measured = {k: {n: v[n] for n in expected_rows[k]} for k, v in measured.items()}
            expected_total = {n: expected_total[n] for n in ("referrals", "requests")}
            total = {n: total[n] for n in expected_total}
        assert measured == expected_rows, group_by
        assert total == expected_total, group_by


@pytest.mark.parametrize("group_by", reports.GROUPINGS)
def test_a_report_takes_the_same_queries_whatever_its_size(group_by, agencies, members, admins):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client_for(admins["police"]).get(URL, {"group_by": group_by})
        assert response.status_code == 200
        return len(captured)

    _referral(agencies, members, to=agencies["shelter"], status=states.ACCEPTED, consent="plain")
    queries()  # the first read of a test also seals what came before it
    few = queries()
    for _ in range(15):
        _referral(
            agencies,
            members,
            to=agencies["legal"],
            status=states.ACCEPTED,
            consent="status_updates",
            needs=("legal", "medical"),
            region="south",
        )
    assert queries() == few
