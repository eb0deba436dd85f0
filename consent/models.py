"""The survivor and their choices: the profile (PII encrypted, pseudonymous ``ref``)
and consent records, immutable once written; revocation is a separate record.

A consent is *active* at time t iff ``valid_from <= t < expires_at`` and it has no
revocation. That is evaluated at read time (``consent.grants``, which
``coordination.access`` asks), so an expired consent denies at once, before any
scheduled job runs.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from agencies.models import Agency
from consent.crypto import EncryptedTextField

REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely


def new_survivor_ref() -> str:
    return "S-" + "".join(secrets.choice(REF_ALPHABET) for _ in range(8))


class Survivor(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ref = models.CharField(max_length=16, unique=True, default=new_survivor_ref, editable=False)
    owner_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="survivors")
    # Encrypted under the survivor's own data key (``consent.data_keys``).
    given_name = EncryptedTextField(blank=True, survivor_key="pk")
    family_name = EncryptedTextField(blank=True, survivor_key="pk")
    date_of_birth = EncryptedTextField(
        blank=True, help_text="ISO date, encrypted", survivor_key="pk"
    )
    phone = EncryptedTextField(blank=True, survivor_key="pk")
    email = EncryptedTextField(blank=True, survivor_key="pk")
    safe_contact_instructions = EncryptedTextField(blank=True, survivor_key="pk")
    address = EncryptedTextField(blank=True, survivor_key="pk")
    nationality = EncryptedTextField(blank=True, survivor_key="pk")
    immigration_status = EncryptedTextField(blank=True, survivor_key="pk")
    preferred_language = models.CharField(max_length=35, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    # Set by erasure (``consent.services.erasure``): the PII is gone, the ``ref`` stays.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The index keeps the name it was created with (in coordination, before the
        # survivor moved here).
        indexes = [
            models.Index(
                fields=["owner_agency", "-created_at", "-id"],
                name="coordinatio_owner_a_6b96a0_idx",
            )
        ]

    def __str__(self) -> str:
        return self.ref  # never a name


class Method(models.TextChoices):
    WRITTEN = "written"
    VERBAL_WITNESSED = "verbal_witnessed"
    ELECTRONIC = "electronic"


class Purpose(models.TextChoices):
    SERVICE_REFERRAL = "service_referral"


class SignedBy(models.TextChoices):
    SURVIVOR = "survivor"
    SURVIVOR_AND_GUARDIAN = "survivor_and_guardian"


class RevocationChannel(models.TextChoices):
    ORAL = "oral"
    WRITTEN = "written"
    ELECTRONIC = "electronic"
    # Not a survivor's channel: the consent ended because the survivor's data was erased.
    ERASURE = "erasure"


class ConsentQuerySet(models.QuerySet):
    def active_at(self, moment) -> ConsentQuerySet:
        return self.filter(valid_from__lte=moment, expires_at__gt=moment, revocation__isnull=True)

    def active_q(self, moment, prefix: str = "") -> Q:
        return Q(
            **{
                f"{prefix}valid_from__lte": moment,
                f"{prefix}expires_at__gt": moment,
                f"{prefix}revocation__isnull": True,
            }
        )


class Consent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survivor = models.ForeignKey(Survivor, on_delete=models.PROTECT, related_name="consents")
    owner_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    recipients = models.ManyToManyField(Agency, related_name="consents_received")
    categories = models.JSONField(help_text="data categories released")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    method = models.CharField(max_length=24, choices=Method.choices)
    evidence_sha256 = models.CharField(max_length=64)
    language = models.CharField(max_length=35)
    interpreter_used = models.BooleanField()
    notice_version = models.CharField(max_length=32)
    services_not_conditional = models.BooleanField()
    signed_by = models.CharField(max_length=24, choices=SignedBy.choices)
    guardian_not_alleged_trafficker = models.BooleanField(default=False)
    valid_from = models.DateTimeField()
    expires_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["survivor", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("valid_from")),
                name="consent_expires_after_start",
            ),
            models.CheckConstraint(
                condition=Q(services_not_conditional=True), name="consent_services_not_conditional"
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    def is_active_at(self, moment) -> bool:
        return self.valid_from <= moment < self.expires_at and not hasattr(self, "revocation")


class ConsentRevocation(models.Model):
    consent = models.OneToOneField(Consent, on_delete=models.PROTECT, related_name="revocation")
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=16, choices=RevocationChannel.choices)
    reason = EncryptedTextField(survivor_key="consent.survivor_id")
    # The survivor also refused emergency access (break-glass) to their data, at any
    # agency, from now on (``coordination.emergency``).
    no_emergency_access = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"revocation of {self.consent_id}"


class DataKey(models.Model):
    """One survivor's data key, wrapped by the field key (``FIELD_ENCRYPTION_KEYS``).

    Lives in the key store, a database of its own (``consent.routers``): never in the
    data database or its backups. Erasure empties ``wrapped`` and keeps the row as a
    tombstone, so "erased" and "missing" (a misconfigured store) read apart.
    """

    survivor_id = models.UUIDField(primary_key=True)
    wrapped = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data key of {self.survivor_id}"
