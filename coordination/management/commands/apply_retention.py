"""Apply the retention period (run periodically, e.g. from a systemd timer).

Erases, as the system, the PII of every survivor whose referrals have all been closed
for longer than ``RETENTION_DAYS`` — the same erasure a liaison asks for
(``coordination.services.survivor_erase_past_retention``, reason ``retention_period``),
one survivor per transaction, each checked again once locked. ``--dry-run`` lists the
refs that would go and changes nothing.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from consent.data_keys import key_scope
from coordination.services import past_retention, survivor_erase_past_retention


class Command(BaseCommand):
    help = "Erase the PII of survivors whose referrals all closed over RETENTION_DAYS ago."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="list the refs that would be erased, no more"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        due = list(past_retention().values_list("pk", "ref"))
        days = settings.RETENTION_DAYS
        if options["dry_run"]:
            for _, ref in due:
                self.stdout.write(ref)
            self.stdout.write(f"{len(due)} survivor(s) past the {days}-day retention period.")
            return
        progress = tqdm(
            due, unit="survivor", disable=options["no_progress"], file=self.stderr, leave=False
        )
        erased = 0
        with key_scope():
            for survivor_id, _ in progress:
                erased += survivor_erase_past_retention(survivor_id=survivor_id)
        self.stdout.write(f"{erased} survivor(s) erased under the {days}-day retention period.")
