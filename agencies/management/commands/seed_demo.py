"""Create the demo agencies and users of DESIGN.md, idempotently."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agencies.models import Agency, AgencyKind, Membership, Need, Role

DEFAULT_DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (documented demo-only default)

AGENCIES = [
    (
        "metro-police",
        "Metro Police Anti-Trafficking Unit",
        AgencyKind.LAW_ENFORCEMENT,
        "metro",
        [Need.SAFETY_PLANNING],
    ),
    (
        "safe-harbor",
        "Safe Harbor Shelter",
        AgencyKind.SHELTER,
        "metro",
        [Need.SHELTER, Need.BASIC_NEEDS, Need.SAFETY_PLANNING, Need.MENTAL_HEALTH],
    ),
    (
        "legal-aid-now",
        "Legal Aid Now",
        AgencyKind.LEGAL_AID,
        "metro",
        [Need.LEGAL, Need.IMMIGRATION, Need.INTERPRETATION],
    ),
    ("oversight", "Network Oversight Office", AgencyKind.GOVERNMENT, "state", []),
]

USERS = [
    ("liaison", "metro-police", Role.LIAISON),
    ("shelter.worker", "safe-harbor", Role.CASEWORKER),
    ("legal.worker", "legal-aid-now", Role.CASEWORKER),
    ("shelter.admin", "safe-harbor", Role.AGENCY_ADMIN),
    ("compliance", "oversight", Role.COMPLIANCE_OFFICER),
    # Beyond DESIGN.md's list, so that the demo has every role of the tour.
    ("network.admin", "oversight", Role.NETWORK_ADMIN),
]


class Command(BaseCommand):
    help = "Create the demo agencies and users (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="password for every demo user")

    def handle(self, *args, password=None, **options):
        if settings.PRODUCTION and not password:
            raise CommandError("In the production profile, pass --password explicitly.")
        password = password or DEFAULT_DEMO_PASSWORD
        with transaction.atomic():
            agencies = {}
            for slug, name, kind, region, services in AGENCIES:
                agencies[slug], _ = Agency.objects.update_or_create(
                    slug=slug,
                    defaults={
                        "name": name,
                        "kind": kind,
                        "regions": [region],
                        "services": list(services),
                        "accepting_referrals": True,
                        "is_active": True,
                    },
                )
            user_model = get_user_model()
            for username, slug, role in USERS:
                user, _ = user_model.objects.get_or_create(username=username)
                user.is_active = True
                user.set_password(password)
                user.save()
                Membership.objects.update_or_create(
                    user=user, defaults={"agency": agencies[slug], "role": role, "is_active": True}
                )
        self.stdout.write(
            f"Demo data ready: {len(AGENCIES)} agencies, {len(USERS)} users "
            f"({', '.join(u for u, _, _ in USERS)}); password: {password}"
        )
