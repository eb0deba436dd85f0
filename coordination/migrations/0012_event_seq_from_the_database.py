"""The outbox row's number comes from the database, and the network counter goes.

Clients count their agency's own stream (``StreamEntry.seq``); the network-wide
``Event.seq`` is never shown, so it need not follow commit order and is the table's
own auto-increment. Its next value continues after the counter (which always equalled
the newest event's ``seq``): on PostgreSQL the new identity is set past it; SQLite's
rebuilt table continues after its largest ``seq``.
"""

from django.db import migrations, models


def continue_after_the_counter(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST("
            "COALESCE((SELECT MAX(seq) FROM coordination_event), 0), "
            "COALESCE((SELECT seq FROM coordination_eventcounter WHERE id = 1), 0))"
        )
        (last,) = cursor.fetchone()
        if last:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('coordination_event', 'seq'), %s)", [last]
            )


class Migration(migrations.Migration):
    dependencies = [("coordination", "0011_status_change_at_from_the_move")]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="seq",
            field=models.BigAutoField(primary_key=True, serialize=False),
        ),
        migrations.RunPython(continue_after_the_counter, migrations.RunPython.noop),
        migrations.DeleteModel(name="EventCounter"),
    ]
