"""A referral world for the emergency-access tests: a survivor of the police referred to
the shelter and legal aid, in one of the consent states the rule tells apart."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from consent.models import ConsentRevocation
from tests.factories import ConsentFactory, MemberFactory, ReferralFactory, SurvivorFactory

DAY = timedelta(days=1)
JUSTIFICATION = "canary-justification-5W: client reported in danger tonight"
# What an active consent releases to the shelter; what the emergency opens.
CONSENTED = ["contact"]
OPENED = ["identity", "location", "narrative"]

# consent state -> how the shelter's consent stands
CONSENT_STATES = ("active", "expired", "revoked", "revoked_no_emergency", "none")


def make_world(state: str, agencies, members) -> dict:
    survivor = SurvivorFactory(
        owner_agency=agencies["police"],
        created_by=members["liaison"].user,
        family_name="canary-family-5W",
        address="canary-address-5W",
    )
    referral = ReferralFactory(
        survivor=survivor,
        to=[agencies["shelter"], agencies["legal"]],
        narrative="canary-narrative-5W",
    )
    consent = None
    if state != "none":
        now = timezone.now()
        valid_from = now - (10 * DAY if state == "expired" else DAY)
        consent = ConsentFactory(
            survivor=survivor,
            categories=CONSENTED,
            valid_from=valid_from,
            expires_at=valid_from + 5 * DAY,
            recipients=[agencies["shelter"]],
        )
        if state.startswith("revoked"):
            ConsentRevocation.objects.create(
                consent=consent,
                channel="oral",
                reason="x",
                no_emergency_access=state == "revoked_no_emergency",
            )
    return {
        "survivor": survivor,
        "referral": referral,
        "consent": consent,
        "colleague": MemberFactory(agency=agencies["shelter"], role="caseworker"),
    }


def open_body(categories=OPENED, **changes) -> dict:
    return {
        "reason_code": "imminent_danger",
        "justification": JUSTIFICATION,
        "categories": list(categories),
        **changes,
    }
