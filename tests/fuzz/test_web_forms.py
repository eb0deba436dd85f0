"""Every POST form of every page, signed in as the role it is for, with arbitrary text,
numbers, missing and extra fields and huge values: no 5xx, and a 400 writes nothing.

Each field's value is one the form could accept (drawn from its input rule, or a seeded
object's id) or anything at all; any field may be missing, and unknown fields may come
along. Bodies go multipart or URL-encoded. After a 400 the domain tables (every row,
every column) must be as they were before the request.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies import inputs
from agencies.models import Agency, AgencyKind, Invitation, Membership, Need, Role
from audit.models import Alert
from consent import inputs as consent_inputs
from consent.categories import Category
from consent.models import Consent, ConsentRevocation, Survivor
from coordination import inputs as coordination_inputs
from coordination.models import (
    CaseNote,
    Event,
    IdempotencyRecord,
    RecipientStatus,
    Referral,
    StatusChange,
    StreamEntry,
)
from tests.factories import PASSWORD
from tests.fuzz.conftest import count_case

pytestmark = pytest.mark.django_db

EXAMPLES = 40
DOMAIN_MODELS = (
    Agency,
    Membership,
    get_user_model(),
    Survivor,
    Consent,
    ConsentRevocation,
    Referral,
    RecipientStatus,
    StatusChange,
    CaseNote,
    Event,
    StreamEntry,
    IdempotencyRecord,
    Invitation,
    Alert,
)

HUGE = st.sampled_from([10_000, 300_000]).map(lambda n: "x" * n)
ANYTHING = st.one_of(
    st.text(max_size=300),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["", " ", "null", "true", "0", "-1", str(2**63), "9" * 5000]),
    HUGE,
)


def plausible(rule: inputs.Rule) -> st.SearchStrategy:
    """A value of the kind ``rule`` asks for (not always a valid one)."""
    match rule:
        case inputs.Choice() | inputs.Choices():
            return st.sampled_from([value for value, _ in rule.choices])
        case inputs.Email():
            return st.emails()
        case inputs.Text():
            return st.text(min_size=1, max_size=rule.max_length)
        case inputs.Date():
            return st.dates().map(str)
        case inputs.AwareDateTime():
            return st.timedeltas(timedelta(days=-30), timedelta(days=400)).map(
                lambda delta: (timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")
            )
        case inputs.Flag():
            return st.sampled_from(["on", "true", "1"])
    return st.nothing()


def field_value(*plausible_values: st.SearchStrategy) -> st.SearchStrategy:
    """One value, or (a form sends several for a multiple choice) a list of them."""
    one = st.one_of(*plausible_values, ANYTHING)
    return st.one_of(one, st.lists(one, max_size=4))


def body_of(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Half the time every field with a value of its kind (a form a person could send);
    otherwise any subset of the fields with anything in them, plus unknown ones."""
    filled_in = st.fixed_dictionaries(fields)
    anything = st.fixed_dictionaries(
        {},
        optional={
            **{name: field_value(value) for name, value in fields.items()},
            "unknown": field_value(st.just("x")),
            "csrfmiddlewaretoken": ANYTHING,
        },
    )
    return st.one_of(filled_in, anything)


def rule_values(rules, **overrides) -> dict[str, st.SearchStrategy]:
    values = {name: plausible(rule) for name, rule in rules.items()}
    values.update(overrides)
    return values


class Form:
    def __init__(self, role, path, fields, ids=()):
        self.role, self.path, self.fields, self.ids = role, path, fields, ids


def forms(world) -> dict[str, Form]:
    """Every POST form of the pages, with where it posts to; ``{id}`` in a path is
    a seeded object's id or a stranger's."""
    agencies = [str(agency.pk) for agency in world.agencies.values()]
    referral, consent, survivor = world.referral.pk, world.consent.pk, world.survivor.pk
    members = world.members
    grants = [f"{a}:{c}" for a in agencies for c in Category.values]
    return {
        "survivor_create": Form("liaison", "/survivors/", rule_values(consent_inputs.SURVIVOR)),
        "consent_grid": Form(
            "liaison",
            "/survivors/{id}/consents/",
            rule_values(
                consent_inputs.CONSENT,
                evidence_sha256=st.sampled_from(["a" * 64, "A" * 64, "g" * 64]),
                grant=st.sampled_from(grants),
            ),
            ids=[survivor],
        ),
        "consent_revoke": Form(
            "liaison", "/consents/{id}/revoke/", rule_values(consent_inputs.REVOCATION), [consent]
        ),
        "referral_new": Form(
            "liaison",
            "/referrals/new/",
            rule_values(
                coordination_inputs.REFERRAL,
                survivor=st.just(str(survivor)),
                recipients=st.sampled_from(agencies),
            ),
        ),
        "transition": Form(
            "caseworker",
            "/referrals/{id}/transition/",
            rule_values(coordination_inputs.TRANSITION, etag=st.text(max_size=70)),
            [referral],
        ),
        "withdraw": Form(
            "liaison",
            "/referrals/{id}/transition/",
            rule_values(coordination_inputs.TRANSITION, etag=st.text(max_size=70)),
            [referral],
        ),
        "note": Form(
            "caseworker",
            "/referrals/{id}/notes/",
            rule_values(coordination_inputs.NOTE),
            [referral],
        ),
        "member_add": Form(
            "agency_admin",
            "/members/",
            {
                "username": st.from_regex(r"[\w.@+-]{1,150}", fullmatch=True),
                "password": st.text(min_size=1, max_size=128),
                "role": st.sampled_from(Role.values),
            },
        ),
        "member_role": Form(
            "agency_admin",
            "/members/{id}/role/",
            {"role": st.sampled_from(Role.values)},
            [members[name].pk for name in ("caseworker", "admin", "outsider")],
        ),
        "member_deactivate": Form(
            "agency_admin",
            "/members/{id}/deactivate/",
            {},
            [members[name].pk for name in ("caseworker", "admin", "outsider")],
        ),
        "member_unlock": Form(
            "agency_admin",
            "/members/{id}/unlock/",
            {},
            [members[name].pk for name in ("caseworker", "admin", "outsider")],
        ),
        "agency_profile": Form(
            "agency_admin",
            "/agency/profile/",
            {
                "services": st.sampled_from(Need.values),
                "regions": ANYTHING,
                "languages": ANYTHING,
                "accepting_referrals": st.sampled_from(["on", ""]),
                "capacity_note": ANYTHING,
                "hours_start": st.sampled_from(["08:00", "22:30", "", "25:00"]),
                "hours_end": st.sampled_from(["17:00", "06:00", "", "08:00"]),
                "timezone": st.sampled_from(["UTC", "America/Chicago", "Mars/Olympus"]),
            },
        ),
        "alert_acknowledge": Form(
            "compliance_officer",
            "/audit/alerts/{id}/",
            {"note": ANYTHING},
            ids=[world.alert.pk],
        ),
        "invitation_new": Form(
            "agency_admin",
            "/invite/",
            {
                "agency": st.sampled_from(agencies),
                "role": st.sampled_from(Role.values),
                "username": st.from_regex(r"[\w.@+-]{1,150}", fullmatch=True),
                "email": st.emails(),
            },
        ),
        "agency_create": Form(
            "network_admin",
            "/network/agencies/",
            {
                "name": ANYTHING,
                "slug": st.from_regex(r"[a-z0-9-]{1,64}", fullmatch=True),
                "kind": st.sampled_from(AgencyKind.values),
                "services": st.sampled_from(Need.values),
            },
        ),
        "agency_suspend": Form(
            "network_admin", "/network/agencies/{id}/suspend/", {}, [int(a) for a in agencies]
        ),
        "agency_reinstate": Form(
            "network_admin", "/network/agencies/{id}/reinstate/", {}, [int(a) for a in agencies]
        ),
        "password_reset": Form(
            "anonymous",
            "/accounts/password-reset/",
            {"username": st.sampled_from([m.user.username for m in members.values()])},
        ),
        "sign_in": Form(
            "anonymous",
            "/accounts/login/",
            {
                "username": st.sampled_from([m.user.username for m in members.values()]),
                "password": st.just(PASSWORD),
            },
        ),
    }


def domain_rows() -> dict[str, list[dict]]:
    return {
        model._meta.label: list(model.objects.order_by("pk").values()) for model in DOMAIN_MODELS
    }


def path_id(form: Form) -> st.SearchStrategy:
    if not form.ids:
        return st.just(None)
    stranger = st.uuids().map(str) if isinstance(form.ids[0], uuid.UUID) else st.integers(1)
    return st.one_of(st.sampled_from([str(i) for i in form.ids]), stranger.map(str))


def client_for(world, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world.by_role[role].user)
    return client


@pytest.mark.parametrize(
    "name",
    [
        "survivor_create",
        "consent_grid",
        "consent_revoke",
        "referral_new",
        "transition",
        "withdraw",
        "note",
        "member_add",
        "member_role",
        "member_deactivate",
        "member_unlock",
        "agency_profile",
        "alert_acknowledge",
        "invitation_new",
        "agency_create",
        "agency_suspend",
        "agency_reinstate",
        "password_reset",
        "sign_in",
    ],
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_form_refuses_anything_without_error_or_writes(name, world, data):
    form = forms(world)[name]
    client = client_for(world, form.role)
    target = form.path.replace("{id}", data.draw(path_id(form), label="id") or "")
    body = data.draw(body_of(form.fields), label="body")
    urlencoded = data.draw(st.booleans(), label="urlencoded")
    before = domain_rows()
    count_case("forms", form.role)
    if urlencoded:
        encoded = urlencode(body, doseq=True)
        response = client.post(target, encoded, content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(target, body)
    assert response.status_code < 500
    if response.status_code == 400:
        assert domain_rows() == before
