"""Move PII written before per-survivor data keys under each survivor's own key."""

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from audit.models import Action
from audit.recorder import SYSTEM, record
from consent.data_keys import adopt, key_scope


class Command(BaseCommand):
    help = (
        "Re-encrypt values still under the field key alone under their survivor's data "
        "key, in short batches while the service runs (erasure then reaches them)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size=200, no_progress=False, **options):
        moved = 0
        with (
            key_scope(),
            tqdm(unit="row", disable=no_progress, file=self.stderr, leave=False) as bar,
        ):
            for count in adopt(batch_size=max(1, batch_size)):
                moved += count
                bar.update(count)
        with transaction.atomic():
            record(
                action=Action.UPDATE,
                actor=SYSTEM,
                object_type="encryption_keys",
                detail={"rows_moved_to_data_keys": moved},
            )
        self.stdout.write(f"{moved} row(s) moved under their survivor's data key.")
