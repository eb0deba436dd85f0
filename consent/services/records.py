"""Recording and revoking consent. Writes the record and its audit entry.

Moving recipient statuses in response is the referral workflow's job
(``coordination.services.consent_record`` wraps these in one transaction).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NotRequired, TypedDict, Unpack

from django.conf import settings
from django.utils import timezone

from agencies.errors import Conflict, Forbidden, InvalidInput, NotFound
from agencies.models import Membership, Role
from agencies.selectors import recipient_agencies
from audit.models import Action
from audit.recorder import record_by
from consent.models import Consent, ConsentRevocation, Purpose, SignedBy

BACKDATING_TOLERANCE = timedelta(minutes=5)
ADULT_AGE = 18


class ConsentStatement(TypedDict):
    """What the survivor's signed statement says: stored on the consent as given (the
    face has checked each element against ``consent.inputs.CONSENT``)."""

    purpose: NotRequired[str]
    method: str
    evidence_sha256: str
    language: str
    interpreter_used: bool
    notice_version: str
    services_not_conditional: bool
    signed_by: str
    guardian_not_alleged_trafficker: NotRequired[bool]


GUARDIAN_CONFIRMED = "guardian_not_alleged_trafficker"
STATEMENT_DEFAULTS = {"purpose": Purpose.SERVICE_REFERRAL, GUARDIAN_CONFIRMED: False}


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _check_liaison_of_owner(actor: Membership, survivor) -> None:
    if survivor.owner_agency_id != actor.agency_id:
        raise NotFound
    if actor.role != Role.LIAISON:
        raise Forbidden("Only a liaison of the survivor's agency records or revokes consent.")


def consent_create(
    *,
    actor: Membership,
    survivor,
    recipients: list[int],
    categories: list[str],
    expires_at: datetime,
    valid_from: datetime | None = None,
    **statement: Unpack[ConsentStatement],
) -> Consent:
    """Record an immutable consent for a survivor the actor's agency owns.

    Caller: a liaison of the owner agency (else not-found / forbidden). The face has
    checked each element against ``consent.inputs``; this checks what needs the stored
    survivor, the recipients or several elements together. Audits ``consent_record``.
    Runs in the caller's transaction.
    """
    _check_liaison_of_owner(actor, survivor)
    statement = {**STATEMENT_DEFAULTS, **statement}
    signed_by, guardian_confirmed = statement["signed_by"], statement[GUARDIAN_CONFIRMED]
    now = timezone.now()
    valid_from = valid_from or now
    errors: dict[str, list[str]] = {}
    agencies, problem = recipient_agencies(actor.agency_id, recipients)
    if problem:
        errors["recipients"] = [problem]
    cats = list(dict.fromkeys(categories))
    if valid_from < now - BACKDATING_TOLERANCE:
        errors["valid_from"] = ["Consent cannot be backdated."]
    if expires_at <= valid_from or expires_at <= now:
        errors["expires_at"] = ["Must be in the future and after valid_from."]
    elif expires_at - valid_from > timedelta(days=settings.CONSENT_MAX_DAYS):
        errors["expires_at"] = [f"At most {settings.CONSENT_MAX_DAYS} days after valid_from."]
    if signed_by == SignedBy.SURVIVOR_AND_GUARDIAN and not guardian_confirmed:
        errors[GUARDIAN_CONFIRMED] = ["Confirm that the guardian is not an alleged trafficker."]
    if survivor.date_of_birth and signed_by == SignedBy.SURVIVOR:
        birth = date.fromisoformat(survivor.date_of_birth)
        if _age_on(birth, valid_from.date()) < ADULT_AGE:
            errors["signed_by"] = ["The survivor is a minor: a parent or guardian must also sign."]
    if errors:
        raise InvalidInput(fields=errors)

    consent = Consent.objects.create(
        survivor=survivor,
        owner_agency=actor.agency,
        categories=cats,
        valid_from=valid_from,
        expires_at=expires_at,
        recorded_by=actor.user,
        **statement,
    )
    consent.recipients.set(agencies)
    record_by(
        actor,
        Action.CONSENT_RECORD,
        "consent",
        consent.pk,
        survivor_ref=survivor.ref,
        categories=cats,
        consent_ids=[consent.pk],
        detail={"recipients": sorted(a.slug for a in agencies)},
    )
    return consent


def consent_for_update(*, actor: Membership, consent_id) -> Consent:
    consent = (
        Consent.objects.select_for_update(of=("self",))
        .select_related("survivor")
        .filter(pk=consent_id)
        .first()
    )
    if consent is None:
        raise NotFound
    _check_liaison_of_owner(actor, consent.survivor)
    return consent


class Revocation(TypedDict):
    """A revocation as the survivor gave it (``consent.inputs.REVOCATION``)."""

    reason: str
    channel: str
    no_emergency_access: NotRequired[bool]


def revocation_create(
    *,
    actor: Membership | None,
    consent: Consent,
    reason: str,
    channel: str,
    no_emergency_access: bool = False,
) -> None:
    """Revoke a consent (oral revocation is accepted), and with ``no_emergency_access``
    record that the survivor also refuses emergency access. Audits ``consent_revoke``.

    ``consent`` comes locked from ``consent_for_update``; the face has checked the
    reason and channel (``consent.inputs.REVOCATION``). Revoking twice is a conflict.
    No ``actor`` is the system (an erasure under the retention period).
    """
    if ConsentRevocation.objects.filter(consent=consent).exists():
        raise Conflict("This consent is already revoked.")
    ConsentRevocation.objects.create(
        consent=consent,
        revoked_by=actor.user if actor else None,
        channel=channel,
        reason=reason,
        no_emergency_access=no_emergency_access,
    )
    record_by(
        actor,
        Action.CONSENT_REVOKE,
        "consent",
        consent.pk,
        survivor_ref=consent.survivor.ref,
        consent_ids=[consent.pk],
        detail={"channel": channel, "no_emergency_access": no_emergency_access},
    )
