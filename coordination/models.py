"""Referrals, recipient statuses, case notes, the outbox and idempotency records.

The survivor they are about lives in ``consent.models`` with their choices.

PII columns are ``EncryptedTextField``s. Rows change only through
``coordination.services``; nothing here saves itself.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from agencies.models import Agency, Membership
from consent.crypto import EncryptedTextField
from consent.models import Survivor
from coordination import states


class Urgency(models.TextChoices):
    EMERGENCY = "emergency"
    HIGH = "high"
    ROUTINE = "routine"


class Referral(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survivor = models.ForeignKey(Survivor, on_delete=models.PROTECT, related_name="referrals")
    referring_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="outgoing_referrals"
    )
    needs = models.JSONField(default=list)
    urgency = models.CharField(max_length=16, choices=Urgency.choices)
    region = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=35, blank=True)
    narrative = EncryptedTextField(blank=True, survivor_key="survivor_id")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["referring_agency", "-created_at", "-id"])]

    def __str__(self) -> str:
        return str(self.id)


class RecipientStatus(models.Model):
    """One per (referral, recipient agency): the FHIR-Task-like state machine."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="recipients")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="incoming_statuses")
    status = models.CharField(
        max_length=24, choices=[(s, s) for s in states.STATES], default=states.AWAITING_CONSENT
    )
    version = models.PositiveIntegerField(default=1, help_text="bumped on every change (ETag)")
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(
        null=True, blank=True, help_text="when the recipient first accepted (reports)"
    )

    class Meta:
        ordering = ["referral_id", "agency_id"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "agency"], name="one_status_per_recipient")
        ]
        indexes = [models.Index(fields=["agency", "status"])]

    def __str__(self) -> str:
        return f"{self.referral_id}->{self.agency_id}:{self.status}"


class StatusChange(models.Model):
    """Who moved a recipient status, when, from what to what, and why."""

    recipient_status = models.ForeignKey(
        RecipientStatus, on_delete=models.PROTECT, related_name="changes"
    )
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    action = models.CharField(max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = EncryptedTextField(blank=True, survivor_key="recipient_status.referral.survivor_id")
    # The moment of the move (``status_move`` passes it: the row's ``accepted_at`` is the same).
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status}->{self.to_status}"


class CaseNote(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(survivor_key="referral.survivor_id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return str(self.id)


class Event(models.Model):
    """The transactional outbox: one row per state change, written in its transaction.

    ``seq`` is the database's own number for the row (network-wide, never shown to a
    client: it may commit out of order, and a rolled-back change may leave a gap). What a
    client counts is its agency's ``StreamEntry.seq``. Payloads hold ids, ``ref`` and
    states — never PII.
    """

    # Kinds: ``referral.<status>`` for a status change, and these.
    NOTE_ADDED = "note.added"
    CONSENT_REVOKED = "consent.revoked"
    # An emergency access opened, and its review: told to the member's agency only.
    EMERGENCY_OPENED = "emergency.opened"
    EMERGENCY_REVIEWED = "emergency.reviewed"
    EMERGENCY_KINDS = frozenset({EMERGENCY_OPENED, EMERGENCY_REVIEWED})

    seq = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=40)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    survivor_ref = models.CharField(max_length=16)
    agency = models.ForeignKey(
        Agency,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the recipient the change concerns; null for the whole referral",
    )
    status = models.CharField(max_length=24, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    @classmethod
    def kind_for_status(cls, status: str) -> str:
        return cls.CONSENT_REVOKED if status == states.CONSENT_REVOKED else f"referral.{status}"


class StreamEntry(models.Model):
    """One event in one agency's stream, numbered in that agency's own sequence.

    Written with the event, in its transaction, for each agency that may hear of it
    at that moment; ``seq`` follows the agency's stream head (``outbox.stream_head``)
    under a lock (the agency's ``StreamCounter`` row, or SQLite's one writer), so an
    agency's numbers are gap-free, follow commit order and advance only over events it
    was entitled to. Delivery still asks the access rule again.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField()
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="stream_entries")

    class Meta:
        ordering = ["agency_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "seq"], name="one_stream_seq_per_agency")
        ]

    def __str__(self) -> str:
        return f"agency {self.agency_id} #{self.seq}"


class StreamCounter(models.Model):
    """The last ``seq`` of one agency's stream (a missing row reads as 0), bumped with
    each append where rows are locked (PostgreSQL); on SQLite it holds where the stream
    stood before its entries were numbered from their own index (``outbox``)."""

    agency = models.OneToOneField(
        Agency, primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"agency {self.agency_id} stream #{self.seq}"


class IdempotencyRecord(models.Model):
    """A creating POST's key, request fingerprint and response, per user.

    The stored response may hold PII (a created profile), so it is encrypted under the
    data key of the survivor it concerns: an erasure leaves no readable copy.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, help_text="null while in progress")
    survivor_id = models.UUIDField(null=True, blank=True, help_text="whom the response is about")
    created_at = models.DateTimeField(auto_now_add=True)
    response_body = EncryptedTextField(blank=True, survivor_key="survivor_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"idempotency {self.pk}"


def _choices(name: str, *values: str) -> type[models.TextChoices]:
    """``TextChoices`` named by their values in capitals (``PENDING = "pending"``)."""
    return models.TextChoices(name, [(value.upper(), value) for value in values])


# Why a caseworker breaks the glass, and what a compliance officer decides of it.
EmergencyReason = _choices(
    "EmergencyReason", "imminent_danger", "medical_emergency", "missing_person"
)
ReviewStatus = _choices("ReviewStatus", "pending", "justified", "unjustified")


class EmergencyAccess(models.Model):
    """Break-glass: categories opened to one member of a recipient agency, for a few
    hours, without the survivor's consent (DESIGN.md, Emergency access). The access
    rule reads the active ones (``coordination.emergency``); compliance reviews each.
    The justification and the review note are free text: encrypted, never audited; the
    justification (it may speak of the survivor) under the survivor's data key, so an
    erasure shreds it with the rest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="emergency_accesses"
    )
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    categories = models.JSONField(help_text="data categories opened")
    reason_code = models.CharField(max_length=24, choices=EmergencyReason.choices)
    justification = EncryptedTextField(survivor_key="referral.survivor_id")
    opened_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    review_note = EncryptedTextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["member", "referral", "expires_at"]),
            models.Index(fields=["review_status", "-opened_at", "-id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("opened_at")),
                name="emergency_access_expires_after_opening",
            )
        ]

    def __str__(self) -> str:
        return str(self.id)
