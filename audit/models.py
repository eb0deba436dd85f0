"""The append-only, hash-chained record of every access.

Entries hold identifiers and categories, never PII values. Actor and object are
stored as plain values (not foreign keys) so that the record outlives, and cannot be
cascaded away by, the rows it speaks about.
"""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    VIEW = "view"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    TRANSITION = "transition"
    CONSENT_RECORD = "consent_record"
    CONSENT_REVOKE = "consent_revoke"
    CONSENT_EXPIRE = "consent_expire"
    EXPORT = "export"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    WS_CONNECT = "ws_connect"
    WS_SUBSCRIBE = "ws_subscribe"
    DENIED = "denied"
    VERIFY = "verify"
    CHECKPOINT = "checkpoint"
    MEMBER_ADD = "member_add"
    MEMBER_UPDATE = "member_update"
    MEMBER_DEACTIVATE = "member_deactivate"
    MEMBER_UNLOCK = "member_unlock"
    SIGN_IN_LOCKED = "sign_in_locked"
    MFA_CHALLENGE = "mfa_challenge"
    MFA_ENROL = "mfa_enrol"
    MFA_CONFIRM = "mfa_confirm"
    MFA_FAILED = "mfa_failed"
    MFA_RESET = "mfa_reset"
    EMERGENCY_ACCESS = "emergency_access"
    EMERGENCY_REVIEW = "emergency_review"
    ERASURE = "erasure"
    # Access alerts (``audit.alerts``): raised by the watch, acknowledged by compliance.
    ALERT_RAISE = "alert_raise"
    ALERT_ACKNOWLEDGE = "alert_acknowledge"


class Outcome(models.TextChoices):
    ALLOWED = "allowed"
    DENIED = "denied"


class AuditEntry(models.Model):
    # Null while the entry waits to be sealed (linked into the chain) by ``audit.sealer``.
    seq = models.BigIntegerField(unique=True, null=True, editable=False)
    at = models.DateTimeField(editable=False, db_index=True)

    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency_id = models.BigIntegerField(null=True, blank=True)
    actor_agency = models.CharField(max_length=64, blank=True, help_text="agency slug")
    actor_role = models.CharField(max_length=32, blank=True)

    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    survivor_ref = models.CharField(max_length=16, blank=True)
    categories = models.JSONField(default=list, help_text="data categories disclosed")
    consent_ids = models.JSONField(default=list, help_text="consents that authorised it")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    detail = models.JSONField(default=dict, help_text="non-PII particulars (codes, states)")

    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)

    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001 (null: unsealed; unique allows many)
    # "<rows>:<last pk>:<sha256>" of the request's django-auditlog rows, set when sealed
    # (``audit.field_digest``); hashed with the entry when not empty.
    field_changes = models.CharField(max_length=100, blank=True, default="", editable=False)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["actor_user_id", "seq"], name="audit_actor_seq"),
            models.Index(fields=["actor_agency", "seq"], name="audit_agency_seq"),
            models.Index(fields=["action", "seq"], name="audit_action_seq"),
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_seq"),
            models.Index(fields=["survivor_ref", "seq"], name="audit_ref_seq"),
            models.Index(fields=["outcome", "seq"], name="audit_outcome_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq or 'pending'} {self.action} {self.outcome}"

    @property
    def sealed(self) -> bool:
        return self.hash is not None


class ChainHead(models.Model):
    """One row: the newest sealed entry's seq and hash. Only the sealer locks it, in a
    short transaction of its own (never while a request does its work)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class Checkpoint(models.Model):
    """A signed statement "the chain had head ``hash`` at ``seq``" (Ed25519).

    The signing key lives outside the database, so someone who can rewrite the table
    cannot forge a checkpoint; exported checkpoints also catch a deleted tail.
    """

    seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    public_key = models.CharField(max_length=64, help_text="hex Ed25519 public key")
    signature = models.CharField(max_length=128, help_text="hex signature")

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"


class Disclosure(models.Model):
    """One survivor's data reaching another agency under consent or emergency access: a
    ledger line.

    Derived from an ``AuditEntry`` in its transaction (``audit.ledger``): the entry is
    the record, this row the index that makes "every disclosure of S-…" one indexed
    query, list pages included (their entry holds many survivors in ``detail``).
    Append-only like the entries.
    """

    entry_seq = models.BigIntegerField(editable=False)
    at = models.DateTimeField(editable=False)
    survivor_ref = models.CharField(max_length=16)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency_id = models.BigIntegerField(null=True, blank=True)
    actor_agency = models.CharField(max_length=64, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    categories = models.JSONField(default=list)
    consent_ids = models.JSONField(default=list)
    # ``emergency`` when an emergency access (break-glass) released any of the
    # categories; the accesses' ids are in ``emergency_access_ids``.
    basis = models.CharField(max_length=16, default="consent")
    emergency_access_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["survivor_ref", "id"], name="audit_disclosure_ref"),
            # verification reads a range of entries' lines (audit.verify_fast)
            models.Index(fields=["entry_seq"], name="audit_disclosure_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.survivor_ref} #{self.entry_seq}"


def _once(*fields: str, name: str) -> models.UniqueConstraint:
    """One row per value of ``fields`` (what makes the alert tables count once)."""
    return models.UniqueConstraint(fields=list(fields), name=name)


class AlertRule(models.TextChoices):
    """The access-alert rules of DESIGN.md ("Oversight"); thresholds in settings."""

    SURVIVORS_PER_HOUR = "survivors_per_hour", "many survivors read in an hour"
    OUTSIDE_HOURS = "outside_hours", "reads outside the agency's hours"
    REFUSALS_PER_HOUR = "refusals_per_hour", "many refusals in an hour"
    EMERGENCY_ACCESS = "emergency_access", "emergency access"


class Alert(models.Model):
    """One access alert: a rule that fired for one member in one window (once per
    rule, member and window). Raised by ``audit.alert_watch`` as the sealed entries
    arrive; acknowledged once, with a note, by a compliance officer."""

    rule = models.CharField(max_length=32, choices=AlertRule.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency_id = models.BigIntegerField(null=True, blank=True)
    actor_agency = models.CharField(max_length=64, blank=True, help_text="agency slug")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    count = models.PositiveIntegerField(help_text="what the rule counted when it fired")
    threshold = models.PositiveIntegerField(help_text="the count at which the rule fires")
    entry_seq = models.BigIntegerField(help_text="the audit entry that made it fire")
    created_at = models.DateTimeField(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_user_id = models.BigIntegerField(null=True, blank=True)
    acknowledged_by_username = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True, help_text="the acknowledging officer's note")

    class Meta:
        ordering = ["-id"]
        constraints = [_once("rule", "actor_user_id", "window_start", name="audit_alert_once")]

    def __str__(self) -> str:
        return f"alert #{self.pk} {self.rule}"


class AlertTally(models.Model):
    """How many entries one rule has counted for one member in one hour (the
    incremental state of the counting rules; a row per member and hour, swept after a
    day). For ``survivors_per_hour`` the count is of ``AlertSighting`` rows."""

    rule = models.CharField(max_length=32, choices=AlertRule.choices)
    actor_user_id = models.BigIntegerField()
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [_once("rule", "actor_user_id", "window_start", name="audit_tally_once")]

    def __str__(self) -> str:
        return f"{self.rule} {self.actor_user_id} {self.count}"


class AlertSighting(models.Model):
    """One survivor ``ref`` one member read in one hour: the distinct-survivor set of
    ``survivors_per_hour`` (refs are pseudonymous; swept after a day)."""

    actor_user_id = models.BigIntegerField()
    window_start = models.DateTimeField(db_index=True)
    survivor_ref = models.CharField(max_length=16)

    class Meta:
        constraints = [
            _once("actor_user_id", "window_start", "survivor_ref", name="audit_sighting_once")
        ]

    def __str__(self) -> str:
        return f"{self.actor_user_id} {self.survivor_ref}"


class AlertWatch(models.Model):
    """One row: the last sealed entry (``seq``) the alert rules have counted. Locked
    while counting, so every entry is counted once, in chain order, by one process."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"alerts watched to #{self.seq}"
