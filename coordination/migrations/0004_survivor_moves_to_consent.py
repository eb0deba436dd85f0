"""The survivor now lives in ``consent``: the referral points there, and
``coordination`` forgets its own copy. State only: no row moves."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0003_survivor_moves_here"),
        ("coordination", "0003_idempotency"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="referral",
                    name="survivor",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referrals",
                        to="consent.survivor",
                    ),
                ),
                migrations.DeleteModel(name="Survivor"),
            ],
            database_operations=[],
        ),
    ]
