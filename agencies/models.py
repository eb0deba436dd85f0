from __future__ import annotations

from zoneinfo import available_timezones

from django.conf import settings
from django.db import models

from audit.recorder import Actor


class AgencyKind(models.TextChoices):
    LAW_ENFORCEMENT = "law_enforcement"
    NGO = "ngo"
    SHELTER = "shelter"
    HEALTHCARE = "healthcare"
    LEGAL_AID = "legal_aid"
    GOVERNMENT = "government"
    OTHER = "other"


class Need(models.TextChoices):
    """Need categories: what a referral asks for and what an agency offers."""

    SHELTER = "shelter"
    MEDICAL = "medical"
    MENTAL_HEALTH = "mental_health"
    LEGAL = "legal"
    IMMIGRATION = "immigration"
    EMPLOYMENT = "employment"
    EDUCATION = "education"
    INTERPRETATION = "interpretation"
    BASIC_NEEDS = "basic_needs"
    SAFETY_PLANNING = "safety_planning"


class Role(models.TextChoices):
    LIAISON = "liaison"
    CASEWORKER = "caseworker"
    AGENCY_ADMIN = "agency_admin"
    COMPLIANCE_OFFICER = "compliance_officer"
    # The network's coordinating body: members of a ``government`` agency only.
    NETWORK_ADMIN = "network_admin"


# The IANA time zones an agency's working hours may be given in.
TIME_ZONES = sorted(available_timezones())

# Roles that work referrals, and so may follow their live events.
LIVE_ROLES = (Role.LIAISON, Role.CASEWORKER)


class Agency(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=AgencyKind.choices)
    regions = models.JSONField(default=list, help_text="regions served")
    services = models.JSONField(default=list, help_text="need categories offered")
    languages = models.JSONField(default=list, help_text="languages spoken (codes)")
    accepting_referrals = models.BooleanField(default=True)
    capacity_note = models.CharField(max_length=500, blank=True)
    # Working hours, in ``timezone``: reads outside them raise an access alert
    # (audit.alert_watch). Both unset (the default): no hours, the rule is off.
    # ``hours_start`` after ``hours_end`` spans midnight (a night shift).
    hours_start = models.TimeField(null=True, blank=True)
    hours_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(
        max_length=64, default="UTC", choices=[(zone, zone) for zone in TIME_ZONES]
    )
    # False: suspended by a network admin (members cannot sign in; not a recipient).
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    """A user acts for exactly one agency, in one role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="membership"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency_id", "user__username"]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.agency_id}:{self.role}"

    @property
    def is_usable(self) -> bool:
        return self.is_active and self.user.is_active and self.agency.is_active

    def as_actor(self) -> Actor:
        return Actor(
            user_id=self.user_id,
            username=self.user.get_username(),
            agency_id=self.agency_id,
            agency=self.agency.slug,
            role=self.role,
        )


class WsTicket(models.Model):
    """A single-use, short-lived WebSocket ticket. Only its SHA-256 is stored.

    ``credential`` names what it was issued under (a session key, as Django's session
    table holds it, or an API token's digest), so ending that credential also ends the
    sockets it opened.
    """

    digest = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    credential = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"ticket {self.digest[:8]}"


class SignInScope(models.TextChoices):
    ACCOUNT = "account"
    ADDRESS = "address"


class SignInCounter(models.Model):
    """Recent failed sign-ins of one account or one client address (``agencies.signin``).

    In the database so that every worker counts the same failures. ``key`` is a keyed
    digest of the username for an account (a username that was typed, perhaps a
    password typed in the wrong box, is never stored) and the address for an address.
    ``failures`` holds the times (epoch seconds) of the failures in the current window;
    ``level`` how many locks in a row, which sets the next lock's length. A row quiet
    for a day is swept, and so forgotten.
    """

    scope = models.CharField(max_length=8, choices=SignInScope.choices)
    key = models.CharField(max_length=64)
    failures = models.JSONField(default=list)
    level = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="agencies_signin_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} level {self.level}"


class InvitationKind(models.TextChoices):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind, not a password)


class Invitation(models.Model):
    """A single-use link that lets one person set a password: an invitation to join an
    agency in a role, or a password reset. Only the token's SHA-256 is stored.

    ``user`` is set when the account already exists (a reset, or the first network
    admin made by ``bootstrap_network``); otherwise accepting creates it.
    """

    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=InvitationKind.choices)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    username = models.CharField(max_length=150, db_index=True)
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    invited_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:8]}"
