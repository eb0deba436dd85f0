"""Network administration: the network_admin role, the agency profile (regions served,
languages, capacity note; the single ``region`` becomes ``regions``) and invitations."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def regions_from_region(apps, schema_editor):
    Agency = apps.get_model("agencies", "Agency")
    for agency in Agency.objects.exclude(region=""):
        agency.regions = [agency.region]
        agency.save(update_fields=["regions"])


def region_from_regions(apps, schema_editor):
    Agency = apps.get_model("agencies", "Agency")
    for agency in Agency.objects.all():
        agency.region = (agency.regions or [""])[0][:100]
        agency.save(update_fields=["region"])


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0003_sign_in_counter"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="agency",
            name="capacity_note",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="agency",
            name="languages",
            field=models.JSONField(default=list, help_text="languages spoken (codes)"),
        ),
        migrations.AddField(
            model_name="agency",
            name="regions",
            field=models.JSONField(default=list, help_text="regions served"),
        ),
        migrations.RunPython(regions_from_region, region_from_regions),
        migrations.RemoveField(
            model_name="agency",
            name="region",
        ),
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[
                    ("liaison", "Liaison"),
                    ("caseworker", "Caseworker"),
                    ("agency_admin", "Agency Admin"),
                    ("compliance_officer", "Compliance Officer"),
                    ("network_admin", "Network Admin"),
                ],
                max_length=32,
            ),
        ),
        migrations.CreateModel(
            name="Invitation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("digest", models.CharField(max_length=64, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("invitation", "Invitation"),
                            ("password_reset", "Password Reset"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("liaison", "Liaison"),
                            ("caseworker", "Caseworker"),
                            ("agency_admin", "Agency Admin"),
                            ("compliance_officer", "Compliance Officer"),
                            ("network_admin", "Network Admin"),
                        ],
                        max_length=32,
                    ),
                ),
                ("username", models.CharField(db_index=True, max_length=150)),
                ("email", models.EmailField(max_length=254)),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agencies.agency",
                    ),
                ),
                (
                    "invited_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agencies.membership",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
    ]
