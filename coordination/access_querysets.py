"""The access rule as querysets: the referrals an agency may see, narrowed by direction
and status, and the statuses its reports count (see ``coordination.access`` for the rule
in words; ``coordination.access_rule`` decides the same per referral, and
tests/coordination/test_access.py holds the two to each other)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When

from agencies.errors import InvalidInput
from consent import grants
from consent.categories import Category
from coordination import emergency, states
from coordination.access_rule import (
    ALWAYS_VISIBLE_STATUSES,
    OUTGOING,
    RECIPIENT,
    REFERRER,
    REFERRER_FILTER_REFUSED,
    REFERRER_FILTERABLE_STATUSES,
    SIDE_OF_ROLE,
    handles_incoming,
)
from coordination.models import RecipientStatus


def visible_referrals(
    referrals: QuerySet,
    agency_id: int,
    *,
    at: datetime | None = None,
    role: str | None = None,
    member_id: int | None = None,
) -> QuerySet:
    """Narrow a ``Referral`` queryset to exactly what ``release`` calls visible (with
    ``role``, on that role's side only; with ``member_id``, the member's emergency
    accesses included).

    Uses ``Exists`` subqueries, so each referral appears once.
    """
    moment = grants.moment(at)
    is_recipient = RecipientStatus.objects.filter(referral_id=OuterRef("pk"), agency_id=agency_id)
    covered = Exists(grants.granted_to(agency_id, survivor=OuterRef("survivor_id"), at=moment))
    if member_id is not None and handles_incoming(role) and emergency.enabled():
        opened = emergency.granted_to(agency_id, member_id, referral=OuterRef("pk"), at=moment)
        covered = covered | Exists(opened)
    as_referrer = Q(referring_agency_id=agency_id)
    as_recipient = ~as_referrer & Exists(is_recipient) & covered
    side = SIDE_OF_ROLE.get(role) if role is not None else None
    if role is None:
        return referrals.filter(as_referrer | as_recipient)
    if side == REFERRER:
        return referrals.filter(as_referrer)
    if side == RECIPIENT:
        return referrals.filter(as_recipient)
    return referrals.none()


def in_direction(referrals: QuerySet, agency_id: int, direction: str) -> QuerySet:
    """Visible referrals narrowed to the agency's ``outgoing`` or ``incoming`` ones."""
    if direction == OUTGOING:
        return referrals.filter(referring_agency_id=agency_id)
    return referrals.exclude(referring_agency_id=agency_id)


def with_status(referrals: QuerySet, agency_id: int, status: str, *, direction: str = ""):
    """Visible referrals narrowed to those whose status, *as the agency sees it*, is
    ``status``: its own recipient status, or on its outgoing referrals a status the
    referrer always sees unmasked. Filtering outgoing referrals by a status that
    consent may mask would reveal it, so that is refused."""
    in_status = RecipientStatus.objects.filter(referral_id=OuterRef("pk"), status=status)
    own = in_status.filter(agency_id=agency_id)
    if status in REFERRER_FILTERABLE_STATUSES:
        mine = in_status.filter(referral__referring_agency_id=agency_id)
        return referrals.filter(Exists(own) | Exists(mine))
    if direction == OUTGOING:
        raise InvalidInput(fields={"status": [REFERRER_FILTER_REFUSED]})
    return referrals.filter(Exists(own))


def report_statuses(statuses: QuerySet, agency_id: int | None, *, at=None) -> QuerySet:
    """What an agency's de-identified report counts (``None``: the network's, all): its own
    statuses on referrals it may see; its outgoing referrals' as the referrer sees them."""
    if agency_id is None:
        return statuses.annotate(seen_status=F("status"), seen_accepted_at=F("accepted_at"))
    survivor, moment = OuterRef("referral__survivor_id"), grants.moment(at)
    outgoing, updates = Q(referral__referring_agency_id=agency_id), Category.STATUS_UPDATES
    covered = grants.granted_to(agency_id, survivor=survivor, at=moment)
    told = grants.granted_to(OuterRef("agency_id"), survivor=survivor, at=moment, category=updates)
    shown = ~outgoing | Q(status__in=ALWAYS_VISIBLE_STATUSES) | Exists(told)
    return statuses.filter(outgoing | Q(agency_id=agency_id) & Exists(covered)).annotate(
        seen_status=Case(When(shown, then=F("status")), default=Value(states.REQUESTED)),
        seen_accepted_at=Case(When(shown, then=F("accepted_at"))),
    )
