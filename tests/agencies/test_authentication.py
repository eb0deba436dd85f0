from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from agencies import services


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_request_reads_only_its_own_token(members):
    member = members["liaison"]
    for _ in range(3):  # other tokens of the same user, one of them expired
        services.token_issue(member=member)
    stale, _ = AuthToken.objects.create(member.user)
    AuthToken.objects.filter(pk=stale.pk).update(expiry=timezone.now() - timedelta(minutes=1))
    _, token = services.token_issue(member=member)
    client = _bearer(token)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me/").status_code == 200
    token_reads = [q["sql"] for q in queries.captured_queries if "knox_authtoken" in q["sql"]]
    assert len(token_reads) == 1, token_reads


def test_an_expired_token_is_refused_and_deleted(members):
    instance, token = services.token_issue(member=members["liaison"])
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert _bearer(token).get("/api/v1/me/").status_code == 401
    assert not AuthToken.objects.filter(pk=instance.pk).exists()


def test_issuing_a_token_sweeps_the_users_expired_ones(members):
    member = members["liaison"]
    old, _ = services.token_issue(member=member)
    live, _ = services.token_issue(member=member)
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    services.token_issue(member=member)
    assert not AuthToken.objects.filter(pk=old.pk).exists()
    assert AuthToken.objects.filter(pk=live.pk).exists()
