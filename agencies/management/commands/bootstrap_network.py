"""The way into an empty network: the coordinating government agency and its first
network admin, who sets a password through a one-time link printed here."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email, validate_slug
from django.db import transaction

from agencies import invitations
from agencies.models import Agency, AgencyKind, Membership, Role
from audit.models import Action
from audit.recorder import record


class Command(BaseCommand):
    help = (
        "Create the network's coordinating government agency (or reuse it) and its first "
        "network admin, with no usable password; print a one-time link to set one. "
        "Refuses a username that exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--agency-slug", required=True)
        parser.add_argument("--agency-name", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)

    def handle(self, *args, agency_slug, agency_name, username, email, **options):
        try:
            validate_slug(agency_slug)
            validate_email(email)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        user_model = get_user_model()
        with transaction.atomic():
            if user_model.objects.filter(username=username).exists():
                raise CommandError(f"The user {username} exists: bootstrap runs once per user.")
            agency, created = Agency.objects.get_or_create(
                slug=agency_slug, defaults={"name": agency_name, "kind": AgencyKind.GOVERNMENT}
            )
            if agency.kind != AgencyKind.GOVERNMENT or not agency.is_active:
                raise CommandError(f"{agency_slug} is not an active government agency.")
            if created:
                record(
                    action=Action.CREATE,
                    actor=None,
                    object_type="agency",
                    object_id=agency.pk,
                    detail={"slug": agency.slug, "kind": agency.kind, "via": "bootstrap_network"},
                )
            user = user_model(username=username, email=email)
            user.set_unusable_password()
            user.save()
            member = Membership.objects.create(user=user, agency=agency, role=Role.NETWORK_ADMIN)
            record(
                action=Action.MEMBER_ADD,
                actor=None,
                object_type="membership",
                object_id=member.pk,
                detail={"role": member.role, "via": "bootstrap_network"},
            )
            invitation, token = invitations.invitation_for_existing(member=member, email=email)
        self.stdout.write(
            f"{'Created' if created else 'Reused'} the government agency {agency.slug}; "
            f"{username} is its network admin.\n"
            f"Give them this one-time link to set a password (valid until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n{invitations.link_for(token)}"
        )
