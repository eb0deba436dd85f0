"""Give the events written before per-agency streams their stream entries.

Old events keep their network ``seq`` in every agency's stream (the identity map), and
each existing agency's counter starts at the network head. So a client resuming with a
seq it saw before this migration reads exactly what follows it, with nothing lost or
doubled, and new events number each agency's stream gap-free from there. The gaps left
in the old part were already visible to clients under the network counter.

The old entries go to every agency that could ever hear of the event (the referrer,
the recipient the event concerns, every recipient for a referrer's note: the rule of
``access.event_audience``, frozen here as migrations must be); delivery still asks the
access rule, as for every entry.
"""

from django.db import migrations
from django.db.models import Max

NOTE_ADDED = "note.added"
BATCH = 1000


def backfill(apps, schema_editor):
    Agency = apps.get_model("agencies", "Agency")
    Event = apps.get_model("coordination", "Event")
    RecipientStatus = apps.get_model("coordination", "RecipientStatus")
    StreamEntry = apps.get_model("coordination", "StreamEntry")
    StreamCounter = apps.get_model("coordination", "StreamCounter")

    recipients: dict = {}
    for referral_id, agency_id in RecipientStatus.objects.values_list("referral_id", "agency_id"):
        recipients.setdefault(referral_id, set()).add(agency_id)
    entries = []
    events = Event.objects.order_by("seq").values_list(
        "seq", "kind", "agency_id", "referral_id", "referral__referring_agency_id"
    )
    for seq, kind, agency_id, referral_id, referrer_id in events.iterator(chunk_size=BATCH):
        if kind == NOTE_ADDED and agency_id == referrer_id:
            audience = {referrer_id, *recipients.get(referral_id, ())}
        else:
            audience = {referrer_id, agency_id} - {None}
        entries += [StreamEntry(agency_id=a, seq=seq, event_id=seq) for a in sorted(audience)]
        if len(entries) >= BATCH:
            StreamEntry.objects.bulk_create(entries)
            entries = []
    StreamEntry.objects.bulk_create(entries)

    # The network counter's value then: it always equalled the newest event's seq (bumped
    # in the event's transaction), and it is gone since 0012.
    head = Event.objects.aggregate(head=Max("seq"))["head"] or 0
    if head:
        StreamCounter.objects.bulk_create(
            StreamCounter(agency_id=pk, seq=head)
            for pk in Agency.objects.values_list("pk", flat=True)
        )


def forget(apps, schema_editor):
    apps.get_model("coordination", "StreamEntry").objects.all().delete()
    apps.get_model("coordination", "StreamCounter").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("coordination", "0005_agency_streams")]

    operations = [migrations.RunPython(backfill, forget)]
