"""Seal waiting entries, sign the audit chain head (Ed25519); optionally export."""

import json

from django.core.management.base import BaseCommand

from audit.checkpoints import checkpoint_write, stored
from audit.sealer import seal_pending


class Command(BaseCommand):
    help = (
        "Seal waiting audit entries and write a signed checkpoint of the chain head "
        "(also appended to AUDIT_CHECKPOINT_EXPORT); --export FILE writes all as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--export", help="write every checkpoint as JSON to this file")

    def handle(self, *args, export=None, **options):
        sealed = seal_pending()
        if sealed:
            self.stdout.write(f"sealed {len(sealed)} waiting entries")
        checkpoint = checkpoint_write()
        if checkpoint is None:
            self.stdout.write("audit chain is empty: nothing to sign")
        else:
            self.stdout.write(f"checkpoint at entry {checkpoint.seq}: {checkpoint.hash}")
        if export:
            rows = stored()
            with open(export, "w") as handle:
                json.dump(rows, handle, indent=2)
            self.stdout.write(f"{len(rows)} checkpoint(s) exported to {export}")
