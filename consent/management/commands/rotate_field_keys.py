"""Re-encrypt all stored PII under the newest FIELD_ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand
from django.db import transaction

from audit.models import Action
from audit.recorder import SYSTEM, record
from consent.crypto import rotate_all
from consent.data_keys import rewrap_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every field-key column and re-wrap every survivor's data key under "
        "the newest key (then drop old keys)."
    )

    def handle(self, *args, **options):
        # The data keys first: each batch commits in the key store on its own, and a
        # key re-wrapped under the newest key still opens with the full key list.
        keys = rewrap_all()
        with transaction.atomic():
            rows = rotate_all()
            record(
                action=Action.UPDATE,
                actor=SYSTEM,
                object_type="encryption_keys",
                detail={"rows_rewritten": rows, "data_keys_rewrapped": keys},
            )
        self.stdout.write(
            f"{rows} row(s) re-encrypted and {keys} data key(s) re-wrapped under the newest key."
        )
