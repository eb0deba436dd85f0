"""Re-encrypt all stored PII under the newest FIELD_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from audit.models import Action
from audit.recorder import SYSTEM, record
from consent.crypto import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column under the newest key (then drop old keys)."

    def handle(self, *args, **options):
        with transaction.atomic():
            rows = rotate_all()
            record(
                action=Action.UPDATE,
                actor=SYSTEM,
                object_type="encryption_keys",
                detail={"rows_rewritten": rows},
            )
        self.stdout.write(f"{rows} row(s) re-encrypted under the newest key.")
