"""The referral workflow's user actions: refer, open, act on, and note a referral.

Each public service is one durable transaction that writes the change, its audit entry
and its outbox event(s); statuses change only through ``statuses.status_move``.
"""

from __future__ import annotations

from agencies.errors import Erased, Forbidden, InvalidInput, PreconditionFailed
from agencies.models import Membership, Role
from agencies.selectors import recipient_agencies
from audit.models import Action
from audit.recorder import entry_by, record_by, written
from audit.units import unit
from consent.models import Survivor
from coordination import access, outbox, selectors, states
from coordination.models import CaseNote, Event, RecipientStatus, Referral
from coordination.services.statuses import release_covered, status_move


@unit
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

    Recipients already covered by an active consent are released at once. The face
    has checked the input against ``coordination.inputs.REFERRAL``; this checks the
    survivor is the actor's agency's and the recipients may be chosen (active, not the
    actor's own, accepting referrals). Audits ``create``; emits ``referral.requested``
    per released recipient.
    """
    if actor.role != Role.LIAISON:
        raise Forbidden("Only liaisons create referrals.")
    survivor = Survivor.objects.filter(pk=survivor_id).first()
    errors = {}
    if survivor is None or survivor.owner_agency_id != actor.agency_id:
        errors["survivor"] = ["Unknown survivor."]
    elif survivor.erased_at is not None:
        raise Erased
    agencies, problem = recipient_agencies(actor.agency_id, recipients, accepting_only=True)
    if problem:
        errors["recipients"] = [problem]
    if errors:
        raise InvalidInput(fields=errors)
    referral = Referral.objects.create(
        survivor=survivor,
        referring_agency=actor.agency,
        needs=list(dict.fromkeys(needs)),
        urgency=urgency,
        region=region,
        language=language,
        narrative=narrative,
        created_by=actor.user,
    )
    RecipientStatus.objects.bulk_create(
        RecipientStatus(referral=referral, agency=agency) for agency in agencies
    )
    record_by(
        actor,
        Action.CREATE,
        "referral",
        referral.pk,
        survivor_ref=survivor.ref,
        categories=["narrative"] if referral.narrative else [],
        detail={"recipients": sorted(a.slug for a in agencies)},
    )
    release_covered(survivor)
    return referral


@unit
def referral_transition(
    *,
    actor: Membership,
    referral_id,
    action: str,
    reason: str = "",
    outcome: str = "",
    if_match: str | None = None,
) -> tuple[Referral, access.Decision]:
    """A user's action on a referral; returns the referral as it now stands and the
    actor's decision on it (for the response).

    Caseworkers act on their own agency's recipient status (accept, reject, start,
    hold, complete); the referrer's liaison cancels the whole referral. Needs an
    active consent for recipients (else not found); illegal moves are conflicts; a
    stale ``if_match`` fails. Audits ``transition``; each moved status emits its event.
    """
    spec = states.TRANSITIONS.get(action)
    if spec is None or spec.by == states.SYSTEM:
        raise InvalidInput(fields={"action": [f"Must be one of {', '.join(states.USER_ACTIONS)}."]})
    text = (outcome if spec.needs == "outcome" else reason or "").strip()
    if spec.needs and not text:
        raise InvalidInput(fields={spec.needs: ["Required for this action."]})
    # Its statuses locked before the decision: the ETag check and the moves see one state.
    referral, decision = selectors.referral_visible(actor, referral_id, lock_statuses=True)
    locked = list(referral.recipients.all())
    release = decision.release(referral)
    if spec.by == states.REFERRER:
        if release.relation != access.REFERRER or actor.role != Role.LIAISON:
            raise Forbidden("Only a liaison of the referring agency cancels a referral.")
        targets = [r for r in locked if r.status not in states.FINAL]
        if not targets:
            raise states.IllegalTransition(
                "Every recipient status of this referral is already final."
            )
    else:
        if actor.role != Role.CASEWORKER or release.relation != access.RECIPIENT:
            raise Forbidden("Only a caseworker of a recipient agency does this.")
        targets = [r for r in locked if r.agency_id == actor.agency_id]
    if if_match is not None and if_match != decision.etag(referral):
        raise PreconditionFailed
    disclosed = release.relation == access.RECIPIENT
    # The response shows the referral as released: a recipient's is a disclosure. The
    # entry is written with the first move, in its statement (``outbox.Carried``).
    entry = entry_by(
        actor,
        Action.TRANSITION,
        "referral",
        referral.pk,
        survivor_ref=referral.survivor.ref,
        categories=release.categories if disclosed else (),
        consent_ids=release.consent_ids if disclosed else (),
        detail={
            "action": action,
            "statuses": [states.TRANSITIONS[action].target],  # every move's
            **(release.audit_detail() if disclosed else {}),
        },
    )
    for n, target in enumerate(targets):
        carrying = (entry,) if n == 0 else ()
        status_move(
            target, action, user=actor.user, reason=text, decided=decision, carrying=carrying
        )
    written(entry)
    return referral, decision  # its recipients moved in place by status_move


@unit
def referral_open(*, actor: Membership, referral_id, audit_action: str = Action.VIEW):
    """A member opens a referral: the access selector reads, decides and audits it, and a
    recipient's first read moves its status from ``requested`` to ``received`` (with
    its event). Returns the referral (its recipients current) and the decision."""
    referral, decision = selectors.access_referral(actor, referral_id, audit_action=audit_action)
    if decision.release(referral).relation != access.RECIPIENT:
        return referral, decision
    own = next(r for r in referral.recipients.all() if r.agency_id == actor.agency_id)
    if own.status != states.REQUESTED:
        return referral, decision
    status_move(own, "receive", user=actor.user, decided=decision)  # moves ``own`` in place
    return referral, decision


@unit
def note_add(*, actor: Membership, referral_id, text: str):
    """A recipient caseworker or the referrer's liaison adds a case note (its text
    checked by the face against ``coordination.inputs.NOTE``). Audits ``create``;
    emits ``note.added``."""
    referral, decision = selectors.referral_visible(actor, referral_id)
    if actor.role not in (Role.CASEWORKER, Role.LIAISON):
        raise Forbidden("Only caseworkers and liaisons add case notes.")
    note = CaseNote(referral=referral, author=actor.user, author_agency=actor.agency, text=text)
    entry = entry_by(actor, Action.CREATE, "case_note", note.pk, survivor_ref=referral.survivor.ref)
    outbox.emit(
        kind=Event.NOTE_ADDED,
        referral=referral,
        agency_id=actor.agency_id,
        decided=decision,
        carried=outbox.Carried(rows=(note, entry)),  # in the event's statement
    )
    written(entry)
    return note
