"""Recompute the audit chain; exit 1 naming the first bad entry."""

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.models import AuditEntry
from audit.verify import verify_chain


class Command(BaseCommand):
    help = "Verify the audit hash chain (and signed checkpoints); exit non-zero if broken."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoints", help="a JSON file of exported checkpoints")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, checkpoints=None, no_progress=False, **options):
        exported = None
        if checkpoints:
            with open(checkpoints) as handle:
                exported = json.load(handle)
        with tqdm(
            total=AuditEntry.objects.count(), unit="entry", disable=no_progress, file=self.stderr
        ) as bar:
            result = verify_chain(checkpoints=exported, progress=bar.update)
        if not result.ok:
            raise CommandError(
                f"audit chain broken at entry {result.first_bad_seq}: {result.reason} "
                f"({result.checked} entries verified before it)"
            )
        self.stdout.write(f"audit chain intact: {result.checked} entries, head {result.head_hash}")
