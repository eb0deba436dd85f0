"""Stamp when each recipient first accepted its referral (reports: time to acceptance).

Statuses accepted before this migration take the time of their first ``accepted``
change from the status history, in one UPDATE.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    RecipientStatus = apps.get_model("coordination", "RecipientStatus")
    StatusChange = apps.get_model("coordination", "StatusChange")
    first_acceptance = (
        StatusChange.objects.filter(recipient_status_id=OuterRef("pk"), to_status="accepted")
        .order_by("at", "id")
        .values("at")[:1]
    )
    RecipientStatus.objects.filter(changes__to_status="accepted").update(
        accepted_at=Subquery(first_acceptance)
    )


class Migration(migrations.Migration):
    dependencies = [("coordination", "0006_agency_streams_backfill")]

    operations = [
        migrations.AddField(
            model_name="recipientstatus",
            name="accepted_at",
            field=models.DateTimeField(
                blank=True, help_text="when the recipient first accepted (reports)", null=True
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
