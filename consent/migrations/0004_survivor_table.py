"""The survivor's table takes its new app's name, and its content type (which
django-auditlog's field-change rows point at) moves with it, so its history stays
attached."""

from django.db import migrations


def move_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    old = content_types.objects.using(db).filter(app_label="coordination", model="survivor")
    new = content_types.objects.using(db).filter(app_label="consent", model="survivor").first()
    if new is None:
        old.update(app_label="consent")
        return
    # Both exist (a content type was created for the new model first): keep the new
    # one, point the history at it, and drop the old.
    log_entries = apps.get_model("auditlog", "LogEntry")
    for stale in old:
        log_entries.objects.using(db).filter(content_type=stale).update(content_type=new)
        stale.delete()


def restore_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    content_types.objects.using(db).filter(app_label="consent", model="survivor").update(
        app_label="coordination"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auditlog", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("consent", "0003_survivor_moves_here"),
        ("coordination", "0004_survivor_moves_to_consent"),
    ]

    operations = [
        migrations.AlterModelTable(name="survivor", table=None),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
