"""Migrate the bare project's database and create its benchmark rows: a user, a
survivor and a referral. Prints ``{"referral": id}`` as JSON."""

import json

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from bench.bare.referrals.models import Referral, Survivor


class Command(BaseCommand):
    help = "Migrate and seed the bare benchmark project."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, username, password, **options):
        call_command("migrate", verbosity=0)
        get_user_model().objects.create_user(username, password=password)
        survivor = Survivor.objects.create(
            ref="S-BARE0001", given_name="bench", family_name="bare", phone="+10000000000"
        )
        referral = Referral.objects.create(
            survivor=survivor, needs="shelter", urgency="routine", narrative="bench"
        )
        self.stdout.write(json.dumps({"referral": str(referral.pk)}))
