"""Apply consent expiries as state changes (run periodically, e.g. from a systemd timer).

Reads already deny an expired consent; this moves the statuses it covered to
``consent_revoked`` and emits their ``consent.revoked`` events.
"""

from django.core.management.base import BaseCommand

from coordination.services import consent_expire_due


class Command(BaseCommand):
    help = "Move recipients of expired consents to consent_revoked, with events."

    def handle(self, *args, **options):
        moved = consent_expire_due()
        self.stdout.write(f"{moved} recipient status(es) moved to consent_revoked.")
