"""Schemathesis over the whole API: no 5xx, and every response matches the OpenAPI
schema (status code, content type, body).

The schema is the one the app serves at ``/api/schema/``; requests go in-process to
Django's WSGI handler (the route schemathesis documents for Django), inside the test's
transaction, over a seeded world (``tests.fuzz.conftest.World``). Two passes keep the
run bounded:

- every operation as every role (and anonymous), with random data, positive and
  negative (schemathesis' fuzzing phase, a few examples each);
- every operation as the roles it serves, with the schema's boundary and negative
  cases (its coverage phase: every case the schema defines, a fixed set).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from drf_spectacular.generators import EndpointEnumerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from rest_framework.permissions import AllowAny

from tests.fuzz.conftest import ROLES, count_case

pytestmark = pytest.mark.django_db

RANDOM_EXAMPLES = 10


def _over_https(app):
    """Every request as it reaches the app behind the TLS proxy: the production profile
    redirects plain HTTP (its SecurityMiddleware reads the setting when the handler is
    built, before any fixture could turn it off)."""

    def behind_the_proxy(environ, start_response):
        environ = {**environ, "wsgi.url_scheme": "https", "HTTP_X_FORWARDED_PROTO": "https"}
        return app(environ, start_response)

    return behind_the_proxy


def _loaded(phases: dict):
    config = schemathesis.Config.from_dict(
        {
            "phases": {"stateful": {"enabled": False}, **phases},
            "generation": {"deterministic": True, "max-examples": RANDOM_EXAMPLES},
        }
    )
    return schemathesis.openapi.from_wsgi("/api/schema/", _over_https(WSGIHandler()), config=config)


random_data = _loaded({"examples": {"enabled": False}, "coverage": {"enabled": False}})
boundaries = _loaded({"fuzzing": {"enabled": False}})

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
HYPOTHESIS = settings(
    max_examples=RANDOM_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _roles_served() -> dict[tuple[str, str], tuple[str, ...]]:
    """(path, method) -> the roles each operation serves, from its view's permission
    class; a view open to any member is driven as the one role it is for (the audit
    trail's compliance officer; otherwise a liaison)."""
    served = {}
    for path, _, method, callback in EndpointEnumerator().get_api_endpoints():
        permissions = callback.cls.permission_classes
        if all(issubclass(klass, AllowAny) for klass in permissions):
            roles = ("anonymous",)
        else:
            roles = tuple(role for klass in permissions for role in getattr(klass, "roles", ()))
        if not roles:
            roles = ("compliance_officer",) if path.startswith("/api/v1/audit/") else ("liaison",)
        served[path, method.upper()] = roles
    return served


ROLES_SERVED = _roles_served()

# The seeded world of the running test, read by the hooks while they generate.
SEEDED: dict = {}


def _name_seeded_objects(context, path_parameters):
    """Often the path names a seeded object (which the role may or may not see);
    otherwise the generated id."""
    ids = SEEDED.get("path_ids", {})
    if not isinstance(path_parameters, dict) or not ids.keys() & path_parameters.keys():
        return st.just(path_parameters)
    seeded = [
        {**path_parameters, **{n: ids[n][i % len(ids[n])] for n in path_parameters if n in ids}}
        for i in range(3)
    ]
    return st.sampled_from([path_parameters, *seeded])


def _name_seeded_survivor(context, body):
    """Bodies that name a survivor or recipients often name the seeded ones."""
    if not isinstance(body, dict) or not {"survivor", "recipients"} & body.keys():
        return st.just(body)
    seeded = dict(body)
    if "survivor" in seeded:
        seeded["survivor"] = SEEDED["survivor"]
    if "recipients" in seeded:
        seeded["recipients"] = SEEDED["recipients"]
    return st.sampled_from([body, seeded])


for loaded in (random_data, boundaries):
    loaded.hook("flatmap_path_parameters")(_name_seeded_objects)
    loaded.hook("flatmap_body")(_name_seeded_survivor)


@pytest.fixture
def seeded(world, connection_kept_across_requests):
    SEEDED.update(
        path_ids=world.path_ids,
        survivor=str(world.survivor.id),
        recipients=[world.agencies["shelter"].id, world.agencies["legal"].id],
    )
    yield world
    SEEDED.clear()


@pytest.fixture
def credentials(seeded) -> dict[str, dict]:
    """Request headers per role: a fresh API token of that role's member."""
    headers = {"anonymous": {}}
    for role, member in seeded.by_role.items():
        _, token = AuthToken.objects.create(user=member.user)
        headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.mark.parametrize("role", ROLES)
@random_data.parametrize()
@HYPOTHESIS
def test_every_operation_as_every_role_answers_as_documented(case, role, credentials):
    count_case("api", role)
    case.call_and_validate(headers=credentials[role], checks=CHECKS)


@boundaries.parametrize()
@HYPOTHESIS
def test_every_operation_at_its_boundaries_answers_as_documented(case, credentials):
    for role in ROLES_SERVED[case.operation.path, case.operation.method.upper()]:
        count_case("api", role)
        case.call_and_validate(headers=credentials[role], checks=CHECKS)
