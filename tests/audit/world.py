"""A small referral world, built through the services, for the audit tests.

Every PII value is a unique canary (``CANARIES``) so a test can look for any of them
anywhere.
"""

from __future__ import annotations

import re
from datetime import timedelta

from auditlog.models import LogEntry
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import invitations
from audit.models import Alert, AuditEntry, Checkpoint, Disclosure
from audit.verify import checkpoint_write
from consent import services as consent_services
from consent.categories import SURVIVOR_PII_FIELDS
from coordination import services
from coordination.selectors import access_referral
from tests.factories import PASSWORD, AgencyFactory, MemberFactory

SURVIVOR_CANARIES = {name: f"canary-{name.replace('_', '-')}-7Q" for name in SURVIVOR_PII_FIELDS}
SURVIVOR_CANARIES["date_of_birth"] = "1987-03-14"
SURVIVOR_CANARIES["email"] = "canary-email-7q@example.org"
CANARIES = {
    **SURVIVOR_CANARIES,
    "narrative": "canary-narrative-7Q",
    "note": "canary-note-7Q",
    "transition_reason": "canary-hold-reason-7Q",
    "revoke_reason": "canary-revoke-reason-7Q",
}


def consent_fields(**overrides) -> dict:
    return {
        "method": "written",
        "evidence_sha256": "b" * 64,
        "language": "en",
        "interpreter_used": False,
        "notice_version": "2026-01",
        "services_not_conditional": True,
        "signed_by": "survivor",
        "expires_at": timezone.now() + timedelta(days=30),
        **overrides,
    }


def build_world(members, agencies) -> dict:
    """Survivor (police) referred to the shelter under a consent releasing identity,
    contact and status updates; the shelter caseworker has read it once; a second
    shelter caseworker (``colleague``) for member management; a signed checkpoint."""
    liaison = members["liaison"]
    survivor = consent_services.survivor_create(actor=liaison, data=dict(SURVIVOR_CANARIES))
    consent = services.consent_record(
        actor=liaison,
        survivor_id=survivor.pk,
        recipients=[agencies["shelter"].pk],
        categories=["identity", "contact", "status_updates"],
        **consent_fields(),
    )
    referral = services.referral_create(
        actor=liaison,
        survivor_id=survivor.pk,
        recipients=[agencies["shelter"].pk],
        needs=["shelter"],
        urgency="high",
        narrative=CANARIES["narrative"],
    )
    # A profile with no consent and no referral: its erasure is one entry.
    unreferred = consent_services.survivor_create(
        actor=liaison, data={"given_name": "canary-unreferred-7Q"}
    )
    colleague = MemberFactory(agency=agencies["shelter"], role="caseworker")
    # An emergency access (by the colleague: the caseworker's reads stay consent-only)
    # for compliance to review.
    emergency = services.emergency_access_open(
        actor=colleague,
        referral_id=referral.pk,
        reason_code="imminent_danger",
        justification="canary-justification-world-7Q",
        categories=["location"],
    )
    # A disclosure for the ledger (and its admin) to show.
    access_referral(members["caseworker"], referral.pk)
    checkpoint_write()
    # Network administration: a suspended agency to reinstate, and a password-reset link
    # for the caseworker (its token read from the email, the only place it exists).
    suspended = AgencyFactory(slug="suspended", is_active=False)
    caseworker = members["caseworker"].user
    caseworker.email = "caseworker@example.org"
    caseworker.save(update_fields=["email"])
    invitations.password_reset_request(username=caseworker.username)
    reset_token = re.search(r"/invitations/([^/]+)/", mail.outbox[-1].body).group(1)
    # Second factor: the colleague has one (for admins to reset); the caseworker has
    # begun enrolling, and the world knows the code their app shows now.
    TOTPDevice.objects.create(user=colleague.user, name="app", confirmed=True)
    enrolling = TOTPDevice.objects.create(user=caseworker, name="app", confirmed=False)
    return {
        "enrol_device": enrolling.pk,
        "enrol_code": f"{totp(enrolling.bin_key):06d}",
        "shelter_admin": members["admin"].pk,
        # The access alert the emergency access raised (audit.alert_watch), to review.
        "alert": Alert.objects.get().pk,
        "suspended_agency": suspended.pk,
        "shelter_agency": agencies["shelter"].pk,
        "reset_token": reset_token,
        "survivor": str(survivor.pk),
        "ref": survivor.ref,
        "unreferred_survivor": str(unreferred.pk),
        "unreferred_ref": unreferred.ref,
        "consent": str(consent.pk),
        "referral": str(referral.pk),
        "colleague": colleague.pk,
        "emergency": str(emergency.pk),
        "me": members["caseworker"].pk,
        "legal_agency": agencies["legal"].pk,
        "caseworker_username": members["caseworker"].user.username,
        "password": PASSWORD,
        "expires": (timezone.now() + timedelta(days=30)).isoformat(),
        "admin_object:audit.auditentry": AuditEntry.objects.order_by("pk").first().pk,
        "admin_object:audit.disclosure": Disclosure.objects.order_by("pk").first().pk,
        "admin_object:audit.checkpoint": Checkpoint.objects.order_by("pk").first().pk,
        "admin_object:auditlog.logentry": LogEntry.objects.order_by("pk").first().pk,
        "admin_object:agencies.agency": agencies["police"].pk,
        "admin_object:agencies.membership": members["caseworker"].pk,
    }
