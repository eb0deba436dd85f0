"""Count the SQL statements of one detail read and one note create of the bare
project, in-process (Django's test client), excluding SAVEPOINT/RELEASE, and time
``--reads`` detail reads in-process. Prints JSON."""

import json
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from bench.bare.referrals.models import Referral


def statements(context: CaptureQueriesContext) -> int:
    return sum(
        1
        for query in context.captured_queries
        if not query["sql"].lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))
    )


class Command(BaseCommand):
    help = "Count the bare project's SQL statements per request."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--reads", type=int, default=100)

    def handle(self, *args, username, reads, **options):
        user = get_user_model().objects.get(username=username)
        token, _ = Token.objects.get_or_create(user=user)
        client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
        referral = Referral.objects.order_by("created_at").first()
        counts = {}
        with CaptureQueriesContext(connection) as read:
            response = client.get(f"/api/referrals/{referral.pk}/")
        assert response.status_code == 200, response.status_code
        counts["detail"] = statements(read)
        with CaptureQueriesContext(connection) as write:
            response = client.post(
                f"/api/referrals/{referral.pk}/notes/",
                {"text": "counted"},
                content_type="application/json",
            )
        assert response.status_code == 201, response.status_code
        counts["note"] = statements(write)
        started = time.perf_counter()
        for _ in range(reads):
            assert client.get(f"/api/referrals/{referral.pk}/").status_code == 200
        counts["detail_ms"] = (time.perf_counter() - started) * 1000 / max(reads, 1)
        self.stdout.write(json.dumps(counts))
