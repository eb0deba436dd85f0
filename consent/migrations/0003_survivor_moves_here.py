"""The survivor moves from ``coordination`` to ``consent`` (the survivor and their
choices). State only: the rows stay where they are; ``0004`` renames the table."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import consent.crypto
import consent.models


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0001_initial"),
        ("consent", "0002_initial"),
        ("coordination", "0003_idempotency"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Survivor",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        (
                            "ref",
                            models.CharField(
                                default=consent.models.new_survivor_ref,
                                editable=False,
                                max_length=16,
                                unique=True,
                            ),
                        ),
                        ("given_name", consent.crypto.EncryptedTextField(blank=True)),
                        ("family_name", consent.crypto.EncryptedTextField(blank=True)),
                        (
                            "date_of_birth",
                            consent.crypto.EncryptedTextField(
                                blank=True, help_text="ISO date, encrypted"
                            ),
                        ),
                        ("phone", consent.crypto.EncryptedTextField(blank=True)),
                        ("email", consent.crypto.EncryptedTextField(blank=True)),
                        (
                            "safe_contact_instructions",
                            consent.crypto.EncryptedTextField(blank=True),
                        ),
                        ("address", consent.crypto.EncryptedTextField(blank=True)),
                        ("nationality", consent.crypto.EncryptedTextField(blank=True)),
                        ("immigration_status", consent.crypto.EncryptedTextField(blank=True)),
                        ("preferred_language", models.CharField(blank=True, max_length=35)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("version", models.PositiveIntegerField(default=1)),
                        (
                            "created_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "owner_agency",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="survivors",
                                to="agencies.agency",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-created_at", "-id"],
                        "db_table": "coordination_survivor",
                        "indexes": [
                            models.Index(
                                fields=["owner_agency", "-created_at", "-id"],
                                name="coordinatio_owner_a_6b96a0_idx",
                            )
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="consent",
                    name="survivor",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="consents",
                        to="consent.survivor",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
