"""Reads of survivor data. Each ``access_*`` fetches, authorises (``consent.policy``)
and audits in one call, and answers "missing" and "not yours" alike (``NotFound``)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch, QuerySet

from agencies.errors import NotFound
from agencies.models import Membership
from audit.models import Action, Outcome
from audit.recorder import record
from consent import policy
from consent.categories import SURVIVOR_CATEGORIES, Category
from consent.models import Consent
from coordination import services
from coordination.models import CaseNote, RecipientStatus, Referral, Survivor


def denied_not_found(member: Membership, object_type: str, object_id) -> NotFound:
    record(
        action=Action.DENIED,
        actor=member.as_actor(),
        outcome=Outcome.DENIED,
        object_type=object_type,
        object_id=object_id,
        detail={"code": "not_found"},
    )
    return NotFound()


def survivors_of(member: Membership) -> QuerySet[Survivor]:
    return Survivor.objects.filter(owner_agency_id=member.agency_id)


def consents_of(member: Membership) -> QuerySet[Consent]:
    """Consents recorded by the member's agency (for its own survivors), newest first."""
    return (
        Consent.objects.filter(owner_agency_id=member.agency_id)
        .select_related("survivor", "revocation")
        .prefetch_related("recipients")
        .order_by("-recorded_at", "-id")
    )


def access_survivor(member: Membership, survivor_id) -> Survivor:
    """Owner agency only; audits ``view`` (all categories) or ``denied``.

    Runs in the caller's transaction.
    """
    survivor = Survivor.objects.filter(pk=survivor_id).first()
    if survivor is None or survivor.owner_agency_id != member.agency_id:
        raise denied_not_found(member, "survivor", survivor_id)
    record(
        action=Action.VIEW,
        actor=member.as_actor(),
        object_type="survivor",
        object_id=survivor.pk,
        survivor_ref=survivor.ref,
        categories=SURVIVOR_CATEGORIES,
    )
    return survivor


def referrals_visible_to(member: Membership) -> QuerySet[Referral]:
    """The referrals the member's agency may see at all, ready for serialising."""
    return policy.visible_referrals(
        Referral.objects.select_related("survivor").prefetch_related(
            Prefetch("recipients", queryset=RecipientStatus.objects.order_by("agency_id"))
        ),
        member.agency_id,
    )


def access_referral(member: Membership, referral_id, *, audit_action: str = Action.VIEW):
    """One referral with its ``Release`` for the member; audits the disclosure.

    A recipient's first read moves its status from ``requested`` to ``received``.
    """
    referral = referrals_visible_to(member).filter(pk=referral_id).first()
    if referral is None:
        raise denied_not_found(member, "referral", referral_id)
    release = policy.release(member.agency_id, referral)
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
    if release.relation == policy.RECIPIENT:
        services.referral_mark_received(actor=member, referral=referral)
        referral = referrals_visible_to(member).get(pk=referral.pk)
    return referral, release


def notes_visible(member: Membership, referral: Referral, release) -> list[CaseNote]:
    """Own agency's notes; the referrer also sees a recipient's notes under its
    ``case_notes`` consent; a recipient sees the referrer's under ``narrative``."""
    notes = list(CaseNote.objects.filter(referral=referral))
    if release.relation == policy.REFERRER:
        back = policy.back_releases(referral)
        return [
            note
            for note in notes
            if note.author_agency_id == member.agency_id
            or (note.author_agency_id in back and back[note.author_agency_id].case_notes)
        ]
    return [
        note
        for note in notes
        if note.author_agency_id == member.agency_id
        or (
            note.author_agency_id == referral.referring_agency_id
            and Category.NARRATIVE in release.categories
        )
    ]


@transaction.atomic
def audit_list(member: Membership, object_type: str, count: int, filters: dict) -> None:
    record(
        action=Action.LIST,
        actor=member.as_actor(),
        object_type=object_type,
        detail={"count": count, "filters": filters},
    )


def audit_referral_list(member: Membership, referrals, releases: dict) -> None:
    """One ``list`` entry naming each referral shown: its survivor ``ref``, the
    categories released and the consents that released them (runs in the caller's
    transaction, so the entry commits with the disclosure)."""
    audit_list(
        member,
        "referral",
        len(referrals),
        {
            "items": [
                {
                    "referral": str(r.id),
                    "ref": r.survivor.ref,
                    "categories": sorted(releases[r.id].categories),
                    "consents": list(releases[r.id].consent_ids),
                }
                for r in referrals
            ]
        },
    )
