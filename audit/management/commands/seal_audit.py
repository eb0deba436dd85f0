"""Seal audit entries that wait (normally sealed right after their commit)."""

from django.core.management.base import BaseCommand

from audit.sealer import seal_pending


class Command(BaseCommand):
    help = "Link every committed, unsealed audit entry into the chain, oldest first."

    def handle(self, *args, **options):
        sealed = seal_pending()
        self.stdout.write(f"sealed {len(sealed)} waiting audit entries")
