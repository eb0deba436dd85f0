"""Sign the audit chain head (Ed25519) and optionally export every checkpoint."""

import json

from django.core.management.base import BaseCommand

from audit.models import Checkpoint
from audit.verify import checkpoint_write


class Command(BaseCommand):
    help = "Write a signed checkpoint of the audit chain head; --export FILE writes all."

    def add_arguments(self, parser):
        parser.add_argument("--export", help="write every checkpoint as JSON to this file")

    def handle(self, *args, export=None, **options):
        checkpoint = checkpoint_write()
        if checkpoint is None:
            self.stdout.write("audit chain is empty: nothing to sign")
        else:
            self.stdout.write(f"checkpoint at entry {checkpoint.seq}: {checkpoint.hash}")
        if export:
            rows = list(Checkpoint.objects.values("seq", "hash", "signature", "public_key"))
            with open(export, "w") as handle:
                json.dump(rows, handle, indent=2)
            self.stdout.write(f"{len(rows)} checkpoint(s) exported to {export}")
