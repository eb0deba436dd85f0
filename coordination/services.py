"""The referral workflow's state changes.

Each public service is one durable transaction that writes the change, its audit
entry and its outbox event(s). ``_move`` is the only code that changes a recipient
status.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from agencies.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from agencies.models import Membership, Need, Role
from agencies.selectors import recipient_agencies
from audit.models import Action
from audit.recorder import SYSTEM, record
from consent import policy
from consent import services as consent_services
from consent.categories import FIELD_CATEGORY, SURVIVOR_PII_FIELDS
from coordination import etags, events, states
from coordination.models import (
    CaseNote,
    RecipientStatus,
    Referral,
    StatusChange,
    Survivor,
    Urgency,
)

TEXT_MAX = 2000
NARRATIVE_MAX = 20000
SURVIVOR_FIELDS = (*SURVIVOR_PII_FIELDS, "preferred_language")


class IllegalTransition(Conflict):
    code = "illegal_transition"


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    detail = "The resource changed since you read it (stale If-Match)."


# --- survivors ------------------------------------------------------------------


def _clean_survivor_fields(data: dict, *, creating: bool) -> dict:
    errors, clean = {}, {}
    for name, value in data.items():
        if name not in SURVIVOR_FIELDS:
            errors[name] = ["Unknown field."]
            continue
        value = "" if value is None else str(value).strip()
        if len(value) > TEXT_MAX:
            errors[name] = [f"At most {TEXT_MAX} characters."]
        elif name == "date_of_birth" and value:
            try:
                born = date.fromisoformat(value)
            except ValueError:
                errors[name] = ["Use the date format YYYY-MM-DD."]
            else:
                if born > date.today() or born.year < 1900:
                    errors[name] = ["Not a plausible date of birth."]
                value = born.isoformat() if name not in errors else value
        clean[name] = value
    if creating and not (clean.get("given_name") or clean.get("family_name")):
        errors["given_name"] = ["Give at least one name (given or family)."]
    if errors:
        raise InvalidInput(fields=errors)
    return clean


def _pii_categories(names) -> list[str]:
    return sorted({FIELD_CATEGORY[name] for name in names if name in FIELD_CATEGORY})


@transaction.atomic(durable=True)
def survivor_create(*, actor: Membership, data: dict) -> Survivor:
    """A liaison creates a survivor profile owned by their agency. Audits ``create``."""
    if actor.role != Role.LIAISON:
        raise Forbidden("Only liaisons create survivor profiles.")
    clean = _clean_survivor_fields(data, creating=True)
    survivor = Survivor.objects.create(owner_agency=actor.agency, created_by=actor.user, **clean)
    record(
        action=Action.CREATE,
        actor=actor.as_actor(),
        object_type="survivor",
        object_id=survivor.pk,
        survivor_ref=survivor.ref,
        categories=_pii_categories(name for name, value in clean.items() if value),
    )
    return survivor


def _owned_survivor_for_update(actor: Membership, survivor_id) -> Survivor:
    survivor = Survivor.objects.select_for_update().filter(pk=survivor_id).first()
    if survivor is None or survivor.owner_agency_id != actor.agency_id:
        raise NotFound
    if actor.role != Role.LIAISON:
        raise Forbidden("Only liaisons change survivor profiles.")
    return survivor


@transaction.atomic(durable=True)
def survivor_update(
    *, actor: Membership, survivor_id, data: dict, if_match: str | None = None
) -> Survivor:
    """Change a profile of the actor's agency; a stale ``if_match`` fails. Audits ``update``."""
    survivor = _owned_survivor_for_update(actor, survivor_id)
    if if_match is not None and if_match != str(survivor.version):
        raise PreconditionFailed
    clean = _clean_survivor_fields(data, creating=False)
    for name, value in clean.items():
        setattr(survivor, name, value)
    if not (survivor.given_name or survivor.family_name):
        raise InvalidInput(fields={"given_name": ["Give at least one name (given or family)."]})
    survivor.version += 1
    survivor.save()
    record(
        action=Action.UPDATE,
        actor=actor.as_actor(),
        object_type="survivor",
        object_id=survivor.pk,
        survivor_ref=survivor.ref,
        categories=_pii_categories(clean),
        detail={"fields": sorted(clean)},
    )
    return survivor


# --- status moves ------------------------------------------------------------------


def _move(
    recipient: RecipientStatus, action: str, *, user=None, reason: str = ""
) -> RecipientStatus:
    """The one place a recipient status changes: locked row, table check, version bump,
    history row, outbox event."""
    locked = RecipientStatus.objects.select_for_update().get(pk=recipient.pk)
    try:
        target = states.next_status(action, locked.status)
    except states.IllegalTransitionError as error:
        raise IllegalTransition(str(error)) from None
    StatusChange.objects.create(
        recipient_status=locked,
        from_status=locked.status,
        to_status=target,
        action=action,
        actor=user,
        reason=reason,
    )
    locked.status = target
    locked.version += 1
    locked.save(update_fields=["status", "version", "updated_at"])
    kind = "consent.revoked" if target == states.CONSENT_REVOKED else f"referral.{target}"
    events.emit(kind=kind, referral=recipient.referral, agency_id=locked.agency_id, status=target)
    return locked


def _follow_consent(survivor: Survivor, action: str, *, when_visible: bool):
    """Apply the system ``action`` to every recipient of the survivor's referrals whose
    visibility under the access rule is now ``when_visible``."""
    moved = []
    candidates = RecipientStatus.objects.select_related("referral__survivor").filter(
        referral__survivor=survivor, status__in=states.TRANSITIONS[action].sources
    )
    for recipient in candidates:
        if policy.release(recipient.agency_id, recipient.referral).visible == when_visible:
            moved.append(_move(recipient, action))
    return moved


def _release_covered(survivor: Survivor) -> list[RecipientStatus]:
    """Move every recipient now covered by an active consent to ``requested``."""
    return _follow_consent(survivor, "release", when_visible=True)


def _cut_uncovered(survivor: Survivor) -> list[RecipientStatus]:
    """Move every recipient no longer covered by any active consent to ``consent_revoked``."""
    return _follow_consent(survivor, "revoke", when_visible=False)


# --- consent (record/revoke plus their effect on referrals) --------------------------


def consent_record(*, actor: Membership, survivor_id, recipients, categories, **fields):
    """Record consent and release the referrals it covers, in one transaction."""
    (consent,) = consent_record_many(
        actor=actor, survivor_id=survivor_id, grants=[(recipients, categories)], **fields
    )
    return consent


@transaction.atomic(durable=True)
def consent_record_many(*, actor: Membership, survivor_id, grants: list[tuple], **fields):
    """Record one consent per ``(recipients, categories)`` grant, all sharing the other
    elements, and release what they cover, in one transaction: the survivor's choices
    per recipient agency and category are recorded together or not at all."""
    survivor = Survivor.objects.select_for_update().filter(pk=survivor_id).first()
    if survivor is None or survivor.owner_agency_id != actor.agency_id:
        raise NotFound
    if not grants:
        raise InvalidInput(fields={"recipients": ["Name at least one recipient agency."]})
    consents = [
        consent_services.consent_create(
            actor=actor, survivor=survivor, recipients=recipients, categories=categories, **fields
        )
        for recipients, categories in grants
    ]
    _release_covered(survivor)
    return consents


@transaction.atomic(durable=True)
def consent_revoke(*, actor: Membership, consent_id, reason: str, channel: str):
    """Revoke consent; access ends now, and uncovered recipients move to
    ``consent_revoked`` with a ``consent.revoked`` event."""
    consent = consent_services.consent_for_update(actor=actor, consent_id=consent_id)
    consent_services.consent_revoke(actor=actor, consent=consent, reason=reason, channel=channel)
    _cut_uncovered(consent.survivor)
    return consent


@transaction.atomic(durable=True)
def consent_expire_due() -> int:
    """Apply expiries as state changes (``manage.py expire_consents``). Reads already
    deny expired consents; this makes statuses and events say so. Returns moves made."""
    survivors = Survivor.objects.filter(
        referrals__recipients__status__in=states.TRANSITIONS["revoke"].sources
    ).distinct()
    moved = 0
    for survivor in survivors:
        cut = _cut_uncovered(survivor)
        for recipient in cut:
            record(
                action=Action.CONSENT_EXPIRE,
                actor=SYSTEM,
                object_type="referral",
                object_id=recipient.referral_id,
                survivor_ref=survivor.ref,
                detail={"recipient": recipient.agency_id},
            )
        moved += len(cut)
    return moved


# --- referrals -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def referral_create(
    *,
    actor: Membership,
    survivor_id,
    recipients: list[int],
    needs: list[str],
    urgency: str,
    region: str = "",
    language: str = "",
    narrative: str = "",
) -> Referral:
    """A liaison refers a survivor of their agency to one or more agencies.

    Recipients already covered by an active consent are released at once. Audits
    ``create``; emits ``referral.requested`` per released recipient.
    """
    if actor.role != Role.LIAISON:
        raise Forbidden("Only liaisons create referrals.")
    survivor = Survivor.objects.filter(pk=survivor_id).first()
    errors = {}
    if survivor is None or survivor.owner_agency_id != actor.agency_id:
        errors["survivor"] = ["Unknown survivor."]
    agencies, problem = recipient_agencies(actor.agency_id, recipients)
    if problem:
        errors["recipients"] = [problem]
    needs = list(dict.fromkeys(needs or ()))
    if not needs or not set(needs) <= set(Need.values):
        errors["needs"] = [f"Choose one or more of {', '.join(Need.values)}."]
    if urgency not in Urgency.values:
        errors["urgency"] = [f"Must be one of {', '.join(Urgency.values)}."]
    for name, value, limit in (
        ("region", region, 100),
        ("language", language, 35),
        ("narrative", narrative, NARRATIVE_MAX),
    ):
        if len(value or "") > limit:
            errors[name] = [f"At most {limit} characters."]
    if errors:
        raise InvalidInput(fields=errors)
    referral = Referral.objects.create(
        survivor=survivor,
        referring_agency=actor.agency,
        needs=needs,
        urgency=urgency,
        region=region.strip(),
        language=language.strip(),
        narrative=narrative.strip(),
        created_by=actor.user,
    )
    RecipientStatus.objects.bulk_create(
        RecipientStatus(referral=referral, agency=agency) for agency in agencies
    )
    record(
        action=Action.CREATE,
        actor=actor.as_actor(),
        object_type="referral",
        object_id=referral.pk,
        survivor_ref=survivor.ref,
        categories=["narrative"] if referral.narrative else [],
        detail={"recipients": sorted(a.slug for a in agencies)},
    )
    _release_covered(survivor)
    return referral


@transaction.atomic(durable=True)
def transition(
    *,
    actor: Membership,
    referral_id,
    action: str,
    reason: str = "",
    outcome: str = "",
    if_match: str | None = None,
) -> list[RecipientStatus]:
    """A user's action on a referral.

    Caseworkers act on their own agency's recipient status (accept, reject, start,
    hold, complete); the referrer's liaison cancels the whole referral. Needs an
    active consent for recipients (else not found); illegal moves are conflicts.
    Audits ``transition``; each moved status emits its event.
    """
    referral = Referral.objects.select_related("survivor").filter(pk=referral_id).first()
    release = policy.release(actor.agency_id, referral) if referral is not None else None
    if release is None or not release.visible:
        raise NotFound
    spec = states.TRANSITIONS.get(action)
    if spec is None or spec.by == states.SYSTEM:
        raise InvalidInput(fields={"action": [f"Must be one of {', '.join(states.USER_ACTIONS)}."]})
    text = (outcome if spec.needs == "outcome" else reason or "").strip()
    if spec.needs and not text:
        raise InvalidInput(fields={spec.needs: ["Required for this action."]})
    if len(text) > TEXT_MAX:
        raise InvalidInput(fields={spec.needs or "reason": [f"At most {TEXT_MAX} characters."]})

    if spec.by == states.REFERRER:
        if referral.referring_agency_id != actor.agency_id or actor.role != Role.LIAISON:
            raise Forbidden("Only a liaison of the referring agency cancels a referral.")
        targets = list(referral.recipients.exclude(status__in=states.FINAL))
        if not targets:
            raise IllegalTransition("Every recipient status of this referral is already final.")
    else:
        if actor.role != Role.CASEWORKER or referral.referring_agency_id == actor.agency_id:
            raise Forbidden("Only a caseworker of a recipient agency does this.")
        targets = [referral.recipients.get(agency_id=actor.agency_id)]
    # Lock the referral's statuses so the ETag check and the moves see one state.
    list(RecipientStatus.objects.select_for_update().filter(referral=referral))
    if if_match is not None and if_match != etags.referral_etag(referral, actor.agency_id):
        raise PreconditionFailed
    moved = [_move(target, action, user=actor.user, reason=text) for target in targets]
    record(
        action=Action.TRANSITION,
        actor=actor.as_actor(),
        object_type="referral",
        object_id=referral.pk,
        survivor_ref=referral.survivor.ref,
        # The response shows the referral as released: a recipient's is a disclosure.
        categories=release.categories if release.relation == policy.RECIPIENT else (),
        consent_ids=release.consent_ids if release.relation == policy.RECIPIENT else (),
        detail={"action": action, "statuses": sorted({m.status for m in moved})},
    )
    return moved


def referral_mark_received(*, actor: Membership, referral: Referral) -> None:
    """First read by a recipient member moves ``requested`` to ``received``.

    Runs inside the reading selector's transaction; no-op if not ``requested``.
    """
    recipient = referral.recipients.filter(
        agency_id=actor.agency_id, status=states.REQUESTED
    ).first()
    if recipient is not None:
        _move(recipient, "receive", user=actor.user)


@transaction.atomic(durable=True)
def note_add(*, actor: Membership, referral_id, text: str):
    """A recipient caseworker or the referrer's liaison adds a case note. Audits
    ``create``; emits ``note.added``."""
    referral = Referral.objects.select_related("survivor").filter(pk=referral_id).first()
    if referral is None or not policy.release(actor.agency_id, referral).visible:
        raise NotFound
    if actor.role not in (Role.CASEWORKER, Role.LIAISON):
        raise Forbidden("Only caseworkers and liaisons add case notes.")
    text = (text or "").strip()
    if not text:
        raise InvalidInput(fields={"text": ["Required."]})
    if len(text) > TEXT_MAX:
        raise InvalidInput(fields={"text": [f"At most {TEXT_MAX} characters."]})
    note = CaseNote.objects.create(
        referral=referral, author=actor.user, author_agency=actor.agency, text=text
    )
    record(
        action=Action.CREATE,
        actor=actor.as_actor(),
        object_type="case_note",
        object_id=note.pk,
        survivor_ref=referral.survivor.ref,
    )
    events.emit(kind="note.added", referral=referral, agency_id=actor.agency_id)
    return note
