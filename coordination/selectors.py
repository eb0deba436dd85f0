"""Scoped reads of survivor and referral data. Each selector starts from what the
member's agency may see (``coordination.access``), decides once, and writes the read's
audit entry in the caller's transaction, so the entry commits with the disclosure.

"Missing" and "not yours" read alike (``NotFound``); the layer that answers the
refusal writes its ``denied`` entry. Selectors write nothing but audit entries: the
first read of a referral by a recipient is marked by ``services.referral_open``.
"""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from agencies.errors import Erased, Forbidden, NotFound
from agencies.models import Membership, Role
from audit.models import Action
from audit.recorder import record_by
from consent.categories import SURVIVOR_CATEGORIES
from consent.models import Consent, Survivor
from coordination import access
from coordination.models import CaseNote, EmergencyAccess, RecipientStatus, Referral
from srn.prepared import prefetched, prepared


def _audit_list(member: Membership, object_type: str, count: int, filters: dict) -> None:
    record_by(member, Action.LIST, object_type, detail={"count": count, "filters": filters})


# --- survivors -------------------------------------------------------------------------


def survivors_of(member: Membership) -> QuerySet[Survivor]:
    """The member's agency's survivor profiles (newest first); not audited until shown."""
    return Survivor.objects.filter(owner_agency_id=member.agency_id)


def survivors_referable(member: Membership) -> QuerySet[Survivor]:
    """The agency's survivors a referral or consent may still be about: not erased."""
    return survivors_of(member).filter(erased_at__isnull=True)


def survivors_shown(member: Membership, page) -> list[Survivor]:
    """A page of the agency's survivors is shown: one ``list`` entry naming their refs."""
    page = list(page)
    _audit_list(member, "survivor", len(page), {"refs": [survivor.ref for survivor in page]})
    return page


def _one_of(scoped: QuerySet, pk):
    """The row ``pk`` of a scoped queryset, or not found (missing and not-yours alike)."""
    found = scoped.filter(pk=pk).first()
    if found is None:
        raise NotFound
    return found


def _unerased(survivor: Survivor) -> Survivor:
    """The survivor, unless their PII was erased (then ``Erased``: 410, gone for good)."""
    if survivor.erased_at is not None:
        raise Erased
    return survivor


def access_survivor(member: Membership, survivor_id) -> Survivor:
    """One profile, to its owner agency only; audits ``view`` (all categories)."""
    survivor = own_survivor(member, survivor_id)
    record_by(
        member,
        Action.VIEW,
        "survivor",
        survivor.pk,
        survivor_ref=survivor.ref,
        categories=SURVIVOR_CATEGORIES,
    )
    return survivor


def own_survivor(member: Membership, survivor_id) -> Survivor:
    """The agency's survivor, to act on (no PII shown, nothing audited), or not found."""
    return _unerased(_one_of(survivors_of(member), survivor_id))


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
    return _one_of(consents_of(member), consent_id)


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
        member_id=member.pk,
    )


def _referral_by_id(referral_id, *, lock_statuses: bool = False) -> Referral | None:
    """One referral with its survivor and statuses (locked with ``select_for_update``
    for a change), not yet decided on: only ``access.decide_one`` says whether the
    member may see it.

    One query: the statuses, each joined to the referral and its survivor (every
    referral has a status per recipient; one without any is fetched apart)."""
    try:
        referral_id = uuid.UUID(str(referral_id))
    except ValueError:
        return None
    if lock_statuses:
        statuses = _locked_statuses_of(referral_id=referral_id)
    else:
        statuses = _statuses_of(referral_id=referral_id)
    if statuses:
        referral = statuses[0].referral
    else:
        found = _referral_row(referral_id=referral_id)
        if not found:
            return None
        referral = found[0]
    prefetched(referral, "recipients", statuses)
    return referral


# Every read by id asks these: compiled once (``srn.prepared``). Unordered for a read:
# one referral's few statuses are sorted where they are shown (``recipients_shown``);
# locked in agency order for a change, so that concurrent changes never deadlock.
@prepared
def _statuses_of(*, referral_id: uuid.UUID) -> QuerySet[RecipientStatus]:
    return _with_referral(referral_id).order_by()


@prepared
def _locked_statuses_of(*, referral_id: uuid.UUID) -> QuerySet[RecipientStatus]:
    return _with_referral(referral_id).order_by("agency_id").select_for_update(of=("self",))


def _with_referral(referral_id: uuid.UUID) -> QuerySet[RecipientStatus]:
    return RecipientStatus.objects.select_related("referral__survivor").filter(
        referral_id=referral_id
    )


@prepared
def _referral_row(*, referral_id: uuid.UUID) -> QuerySet[Referral]:
    return Referral.objects.select_related("survivor").filter(pk=referral_id).order_by()


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
        decision = access.decide_one(
            member.agency_id, referral, role=member.role, member_id=member.pk
        )
    if decision is None:
        raise NotFound
    return referral, decision


def referrals_shown(member: Membership, page) -> access.Decision:
    """A page of referrals is shown: the decision for it, and one ``list`` entry naming
    each referral, its survivor ``ref``, the categories released and the consents (and
    emergency accesses) that released them."""
    page = list(page)
    decision = access.decide(member.agency_id, page, role=member.role, member_id=member.pk)
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
                    **decision.release(r).audit_detail(),
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
    record_by(
        member,
        audit_action,
        "referral",
        referral.pk,
        survivor_ref=referral.survivor.ref,
        categories=release.categories,
        consent_ids=release.consent_ids,
        detail={"relation": release.relation, **release.audit_detail()},
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


# --- emergency access, for review ----------------------------------------------------------


def emergency_accesses(member: Membership) -> QuerySet[EmergencyAccess]:
    """Every emergency access of the network, newest first, to compliance officers
    (others: ``Forbidden``); not audited until shown."""
    if member.role != Role.COMPLIANCE_OFFICER:
        raise Forbidden("Only compliance officers review emergency access.")
    return EmergencyAccess.objects.select_related(
        "referral__survivor", "member__user", "reviewed_by"
    ).order_by("-opened_at", "-id")


def emergency_accesses_shown(member: Membership, page, filters: dict) -> list[EmergencyAccess]:
    """A page of emergency accesses is shown: one ``list`` entry naming each (its id and
    survivor ``ref``) and the filters that selected them."""
    page = list(page)
    _audit_list(
        member,
        "emergency_access",
        len(page),
        {
            **filters,
            "accesses": [
                {"id": str(found.pk), "ref": found.referral.survivor.ref} for found in page
            ],
        },
    )
    return page
