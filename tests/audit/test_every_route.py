"""Every route x method of the project leaves exactly one audit entry, with who, what
and where — or is an explicit, reasoned exemption, or answers 405.

The routes come from walking the URL resolver, so a new endpoint (or a new method on
an old one) without cases in ``tests/audit/routes.py`` fails here.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from knox.models import AuthToken
from rest_framework.test import APIClient

from agencies.admin import site as admin_site
from audit.models import Action, AuditEntry
from tests.audit.admin_routes import admin_cases
from tests.audit.routes import ANY, API_CASES, EXEMPT, METHODS, WEB_CASES, Case
from tests.audit.web_routes import WEB_PAGE_CASES
from tests.audit.world import build_world

USER_AGENT = "route-walk-test/1.0"
CASES = [*API_CASES, *WEB_CASES, *WEB_PAGE_CASES, *admin_cases(admin_site)]


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


ROUTES = sorted(set(walk(get_resolver().url_patterns)))


def _exempt(route: str, method: str) -> bool:
    return (route, None) in EXEMPT or (route, method) in EXEMPT


def _fill(value, world):
    if isinstance(value, str):
        whole = re.fullmatch(r"\{([^{}]+)\}", value)
        if whole:
            return world[whole.group(1)]
        return re.sub(r"\{([^{}]+)\}", lambda m: str(world[m.group(1)]), value)
    if isinstance(value, list):
        return [_fill(item, world) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    return value


def _path(route: str, kwargs: dict) -> str:
    def substitute(match):
        return str(kwargs[match.group("name")])

    path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", substitute, route)
    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", substitute, path)
    return "/" + path.replace("^", "").replace("$", "")


def _dummy_kwargs(route: str) -> dict:
    """Well-formed ids for a route's parameters (a 405 comes before any lookup)."""
    kwargs = {}
    for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", route):
        kwargs[name] = {"uuid": str(uuid.uuid4()), "int": 1}.get(converter, "1")
    for name, alternatives in re.findall(r"\(\?P<(\w+)>([^)]*)\)", route):
        kwargs[name] = alternatives.split("|")[0]
    return kwargs


def _send(case: Case, world, members, method: str | None = None):
    member = members[case.client] if case.client else None
    api = case.route.startswith("api/")
    client = APIClient() if api else Client()
    if member is not None:
        if case.bearer:
            token = AuthToken.objects.create(member.user)[1]
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        elif api:
            client.force_authenticate(user=member.user)
        else:
            client.force_login(member.user)
    kwargs = _fill(case.kwargs, world) if world is not None else _dummy_kwargs(case.route)
    path = _path(case.route, kwargs)
    if case.query:
        path += "?" + _fill(case.query, world) if world is not None else ""
    body = _fill(case.body, world) if case.body is not None and world is not None else None
    send = getattr(client, (method or case.method).lower())
    extra = {"HTTP_USER_AGENT": USER_AGENT}
    if body is None:
        return send(path, **extra)
    if api:
        return send(path, body, format="json", **extra)
    return send(path, body, **extra)


def _expect(value, expected, world, label):
    if expected == ANY:
        assert value, f"{label} should be set"
        return
    assert value == str(_fill(expected, world)), label


def _case_id(case: Case) -> str:
    return f"{case.method} /{case.route} {case.name or case.client or 'anonymous'}"


@pytest.fixture
def world(members, agencies):
    return build_world(members, agencies)


def test_every_route_and_method_is_covered():
    """No route x method is forgotten: each has cases, an exemption, or a 405 probe
    (run below); and no case names a route that does not exist."""
    routes = set(ROUTES)
    stale = {case.route for case in CASES} - routes
    assert not stale, f"cases for routes that do not exist: {sorted(stale)}"
    stale_exempt = {route for route, _ in EXEMPT} - routes
    assert not stale_exempt, f"exemptions for routes that do not exist: {sorted(stale_exempt)}"
    uncovered = [
        route
        for route in ROUTES
        if not any(case.route == route for case in CASES)
        and not all(_exempt(route, method) for method in METHODS)
    ]
    assert not uncovered, f"routes with no audit cases and no exemption: {uncovered}"


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_each_case_writes_exactly_one_entry_with_all_fields(case, world, members):
    before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    response = _send(case, world, members)
    assert response.status_code == case.status, response.content[:300]
    # An alert the request's entry raised (audit.alert_watch, as the system, when the
    # entry is sealed) is the watch's entry, not the request's: it is tested apart.
    entries = list(
        AuditEntry.objects.filter(seq__gt=before).exclude(
            action=Action.ALERT_RAISE, actor_username="system"
        )
    )
    assert len(entries) == 1, [(e.action, e.outcome, e.object_type) for e in entries]
    entry = entries[0]
    # who
    member = members[case.expected_actor] if case.expected_actor else None
    if member is None:
        assert (entry.actor_user_id, entry.actor_agency, entry.actor_role) == (None, "", "")
    elif case.action == "login_failed":
        assert (entry.actor_user_id, entry.actor_username) == (member.user_id, member.user.username)
    else:
        assert entry.actor_user_id == member.user_id
        assert entry.actor_username == member.user.username
        assert entry.actor_agency_id == member.agency_id
        assert entry.actor_agency == member.agency.slug
        assert entry.actor_role == member.role
    # what
    assert (entry.action, entry.outcome) == (case.action, case.outcome)
    _expect(entry.object_type, case.object_type, world, "object_type")
    _expect(entry.object_id, case.object_id, world, "object_id")
    _expect(entry.survivor_ref, case.survivor_ref, world, "survivor_ref")
    assert entry.categories == sorted(case.categories)
    if ANY in case.consent_ids:
        assert len(entry.consent_ids) == len(case.consent_ids)
    else:
        assert entry.consent_ids == sorted(str(_fill(c, world)) for c in case.consent_ids)
    # where
    assert entry.request_id == response["X-Request-ID"]
    assert entry.client_ip == "127.0.0.1"
    assert entry.user_agent == USER_AGENT


PROBES = [
    (route, method)
    for route in ROUTES
    for method in METHODS
    if not _exempt(route, method)
    and not any(case.route == route and case.method == method for case in CASES)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), PROBES, ids=[f"{m} /{r}" for r, m in PROBES])
def test_every_other_method_answers_405_and_writes_nothing(route, method, members):
    # Sent as the route's first case would be (signed in as who may use it).
    owner = next((case for case in CASES if case.route == route), None)
    assert owner is not None, f"/{route} has no case"
    before = AuditEntry.objects.count()
    response = _send(owner, None, members, method=method)
    assert response.status_code == 405, f"{method} /{route}: {response.status_code}"
    assert AuditEntry.objects.count() == before
