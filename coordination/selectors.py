"""Scoped reads of survivor and referral data. Each selector starts from what the
member's agency may see (``coordination.access``), decides once, and writes the read's
audit entry in the caller's transaction, so the entry commits with the disclosure.

"Missing" and "not yours" read alike (``NotFound``); the layer that answers the
refusal writes its ``denied`` entry. Selectors write nothing but audit entries: the
first read of a referral by a recipient is marked by ``services.referral_open``.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from agencies.errors import NotFound
from agencies.models import Membership
from audit.models import Action
from audit.recorder import record
from consent.categories import SURVIVOR_CATEGORIES
from consent.models import Consent, Survivor
from coordination import access
from coordination.models import CaseNote, RecipientStatus, Referral


def _audit_list(member: Membership, object_type: str, count: int, filters: dict) -> None:
    record(
        action=Action.LIST,
        actor=member.as_actor(),
        object_type=object_type,
        detail={"count": count, "filters": filters},
    )


# --- survivors -------------------------------------------------------------------------


def survivors_of(member: Membership) -> QuerySet[Survivor]:
    """The member's agency's survivor profiles (newest first); not audited until shown."""
    return Survivor.objects.filter(owner_agency_id=member.agency_id)


def survivors_shown(member: Membership, page) -> list[Survivor]:
    """A page of the agency's survivors is shown: one ``list`` entry naming their refs."""
    page = list(page)
    _audit_list(member, "survivor", len(page), {"refs": [survivor.ref for survivor in page]})
    return page


def access_survivor(member: Membership, survivor_id) -> Survivor:
    """One profile, to its owner agency only; audits ``view`` (all categories)."""
    survivor = survivors_of(member).filter(pk=survivor_id).first()
    if survivor is None:
        raise NotFound
    record(
        action=Action.VIEW,
        actor=member.as_actor(),
        object_type="survivor",
        object_id=survivor.pk,
        survivor_ref=survivor.ref,
        categories=SURVIVOR_CATEGORIES,
    )
    return survivor


def own_survivor(member: Membership, survivor_id) -> Survivor:
    """The agency's survivor, to act on (no PII shown, nothing audited), or not found."""
    survivor = survivors_of(member).filter(pk=survivor_id).first()
    if survivor is None:
        raise NotFound
    return survivor


# --- consents --------------------------------------------------------------------------


def consents_of(member: Membership, *, survivor_id=None) -> QuerySet[Consent]:
    """Consents recorded by the member's agency (for its own survivors), newest first."""
    consents = (
        Consent.objects.filter(owner_agency_id=member.agency_id)
        .select_related("survivor", "revocation")
        .prefetch_related("recipients")
        .order_by("-recorded_at", "-id")
    )
    if survivor_id is not None:
        consents = consents.filter(survivor_id=survivor_id)
    return consents


def consents_shown(member: Membership, page) -> list[Consent]:
    """A page of consents is shown: one ``list`` entry naming them."""
    page = list(page)
    _audit_list(member, "consent", len(page), {"consents": [str(c.id) for c in page]})
    return page


def own_consent(member: Membership, consent_id) -> Consent:
    consent = consents_of(member).filter(pk=consent_id).first()
    if consent is None:
        raise NotFound
    return consent


# --- referrals -------------------------------------------------------------------------


def referrals_visible_to(member: Membership) -> QuerySet[Referral]:
    """The referrals the member's agency may see at all, ready for presenting; not
    audited until shown."""
    return access.visible_referrals(
        Referral.objects.select_related("survivor").prefetch_related(
            Prefetch("recipients", queryset=RecipientStatus.objects.order_by("agency_id"))
        ),
        member.agency_id,
        role=member.role,
    )


def _referral_by_id(referral_id, *, lock_statuses: bool = False) -> Referral | None:
    """One referral with its survivor and statuses (locked with ``select_for_update``
    for a change), not yet decided on: only ``access.decide_one`` says whether the
    member may see it."""
    statuses = RecipientStatus.objects.order_by("agency_id")
    if lock_statuses:
        statuses = statuses.select_for_update()
    return (
        Referral.objects.select_related("survivor")
        .prefetch_related(Prefetch("recipients", queryset=statuses))
        .filter(pk=referral_id)
        .first()
    )


def referral_visible(
    member: Membership, referral_id, *, lock_statuses: bool = False
) -> tuple[Referral, access.Decision]:
    """One referral the member's agency may see, and the decision on it; "missing"
    and "not yours" both raise ``NotFound``. With ``lock_statuses`` its statuses are
    locked before the decision, so a change decides on the state it will change. Not
    audited: the caller audits what it shows (``access_referral``) or writes (a service)."""
    referral = _referral_by_id(referral_id, lock_statuses=lock_statuses)
    decision = None
    if referral is not None:
        decision = access.decide_one(member.agency_id, referral, role=member.role)
    if decision is None:
        raise NotFound
    return referral, decision


def referrals_shown(member: Membership, page) -> access.Decision:
    """A page of referrals is shown: the decision for it, and one ``list`` entry naming
    each referral, its survivor ``ref``, the categories released and the consents that
    released them."""
    page = list(page)
    decision = access.decide(member.agency_id, page, role=member.role)
    _audit_list(
        member,
        "referral",
        len(page),
        {
            "items": [
                {
                    "referral": str(r.id),
                    "ref": r.survivor.ref,
                    "categories": sorted(decision.release(r).categories),
                    "consents": list(decision.release(r).consent_ids),
                }
                for r in page
            ]
        },
    )
    return decision


def access_referral(
    member: Membership, referral_id, *, audit_action: str = Action.VIEW
) -> tuple[Referral, access.Decision]:
    """One referral and the decision on it; audits the disclosure (``view``, or
    ``list`` for its notes) with the released categories and consents."""
    referral, decision = referral_visible(member, referral_id)
    release = decision.release(referral)
    record(
        action=audit_action,
        actor=member.as_actor(),
        object_type="referral",
        object_id=referral.pk,
        survivor_ref=referral.survivor.ref,
        categories=release.categories,
        consent_ids=release.consent_ids,
        detail={"relation": release.relation},
    )
    return referral, decision


def notes_shown(referral: Referral, decision: access.Decision) -> list[CaseNote]:
    """The referral's case notes the decision lets the member see, oldest first. Part
    of the disclosure its caller audited (the page's ``view``, the API's ``list``)."""
    return decision.notes_shown(referral, CaseNote.objects.filter(referral=referral))


def access_notes(member: Membership, referral_id):
    """A referral's case notes as the decision lets the member see them; audited as one
    ``list`` of the referral's disclosure."""
    referral, decision = access_referral(member, referral_id, audit_action=Action.LIST)
    return referral, decision, notes_shown(referral, decision)


# --- events ----------------------------------------------------------------------------


def events_shown(member: Membership, after: int, batch) -> None:
    """A batch of the event stream is shown over REST: one ``list`` entry with the
    seqs delivered (ids and refs only)."""
    _audit_list(
        member,
        "event",
        len(batch.events),
        {
            "after": after,
            "last_seq": batch.last_seq,
            "items": [
                {"seq": e.seq, "referral": str(e.referral_id), "ref": e.survivor_ref}
                for e in batch.events
            ],
        },
    )
