import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from tests.factories import ConsentFactory, ReferralFactory, SurvivorFactory


class Browser:
    """A Django test client that enforces CSRF like a browser: it posts the token the
    last page it fetched put in its forms."""

    def __init__(self, member=None):
        self.client = Client(enforce_csrf_checks=True)
        if member is not None:
            self.client.force_login(member.user)
        self.token = None

    def get(self, url, **params):
        response = self.client.get(url, params)
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
        if found:
            self.token = found.group(1).decode()
        return response

    def post(self, url, data=None, *, form_from=None, csrf=True):
        if form_from is not None:
            self.get(form_from)
        body = dict(data or {})
        if csrf:
            body["csrfmiddlewaretoken"] = self.token
        return self.client.post(url, body)


@pytest.fixture
def browser():
    return Browser


@pytest.fixture
def released(agencies, members):
    """A police referral about a survivor, released to the shelter (identity only), and
    also sent to legal aid (no consent: it must not see it)."""
    survivor = SurvivorFactory(
        owner_agency=agencies["police"],
        given_name="canary-given",
        family_name="canary-family",
        phone="canary-phone",
        created_by=members["liaison"].user,
    )
    referral = ReferralFactory(
        survivor=survivor,
        narrative="canary-narrative",
        to=[agencies["shelter"], agencies["legal"]],
    )
    consent = ConsentFactory(
        survivor=survivor,
        recipients=[agencies["shelter"]],
        categories=["identity", "status_updates"],
    )
    referral.recipients.filter(agency=agencies["shelter"]).update(status="requested")
    return {"survivor": survivor, "referral": referral, "consent": consent}


def entries_since(seq):
    return list(AuditEntry.objects.filter(seq__gt=seq).order_by("seq"))


def head():
    last = AuditEntry.objects.order_by("-seq").first()
    return last.seq if last else 0


def consent_post(agency_grants, **overrides):
    data = {
        "purpose": "service_referral",
        "method": "written",
        "evidence_sha256": "b" * 64,
        "language": "en",
        "notice_version": "2026-01",
        "services_not_conditional": "on",
        "signed_by": "survivor",
        "expires_at": (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
    }
    data["grant"] = [
        f"{agency.pk}:{category}"
        for agency, categories in agency_grants.items()
        for category in categories
    ]
    data.update(overrides)
    return data
