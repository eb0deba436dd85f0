"""A FHIR search page costs the same queries whatever its size (the decision is one
per page, as for the REST list)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent import services as consent_services
from coordination import services
from tests.conftest import client_for
from tests.coordination.fhir.validation import entries, fhir_get
from tests.factories import ConsentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("viewer", ["liaison", "caseworker"])
@pytest.mark.parametrize("resource", ["ServiceRequest", "Task", "Patient"])
def test_a_fhir_page_of_50_costs_the_queries_of_a_page_of_5(resource, viewer, members, agencies):
    for _ in range(50):
        survivor = consent_services.survivor_create(
            actor=members["liaison"], data={"given_name": "s"}
        )
        ConsentFactory(
            survivor=survivor,
            categories=["identity", "status_updates"],
            recipients=[agencies["shelter"]],
        )
        services.referral_create(
            actor=members["liaison"],
            survivor_id=survivor.id,
            recipients=[agencies["shelter"].id, agencies["legal"].id],
            needs=["shelter"],
            urgency="routine",
        )
    client = client_for(members[viewer])
    client.get(f"/fhir/R4/{resource}?_count=1")  # warm per-process caches first
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            bundle = fhir_get(client, f"/fhir/R4/{resource}?_count={size}")
        assert len(entries(bundle)) >= size
        counts[size] = len(queries)
    assert counts[5] == counts[50]
