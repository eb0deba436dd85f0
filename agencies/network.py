"""Network administration: agencies are created, edited, suspended and reinstated by
network admins, and agency admins keep their own agency's profile current.

Each action is one transaction that writes the change and its audit entry. None reads
or returns survivor data.
"""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from knox.models import AuthToken

from agencies import live_auth
from agencies.errors import Conflict, Forbidden, InvalidInput, NotFound
from agencies.models import Agency, AgencyKind, Membership, Role
from audit.models import Action
from audit.recorder import record_by

# What a network admin may set on any agency; an agency admin, the profile of their own.
PROFILE_FIELDS = (
    "regions",
    "services",
    "languages",
    "accepting_referrals",
    "capacity_note",
    "hours_start",
    "hours_end",
    "timezone",
)
AGENCY_FIELDS = ("name", "kind", *PROFILE_FIELDS)
HOURS_FIELDS = ("hours_start", "hours_end")


def _require_network_admin(actor: Membership) -> None:
    if actor.role != Role.NETWORK_ADMIN:
        raise Forbidden


def agencies_administered(actor: Membership) -> QuerySet[Agency]:
    """Network admins: every agency, suspended ones included (by slug); not audited
    until shown (``agencies.selectors.agencies_shown``)."""
    _require_network_admin(actor)
    return Agency.objects.order_by("slug", "id")


@transaction.atomic
def agency_create(*, actor: Membership, slug: str, name: str, kind: str, **profile) -> Agency:
    """A network admin adds an agency to the network (accepting referrals, no members
    yet: invite its first agency admin next). Audits ``create`` of ``agency``."""
    _require_network_admin(actor)
    if Agency.objects.filter(slug=slug).exists():
        raise InvalidInput(fields={"slug": ["An agency with this slug exists."]})
    fields = {key: value for key, value in profile.items() if key in PROFILE_FIELDS}
    _check_hours({name: fields.get(name) for name in HOURS_FIELDS})
    try:
        with transaction.atomic():
            agency = Agency.objects.create(slug=slug, name=name, kind=kind, **fields)
    except IntegrityError:  # a concurrent create with the same slug
        raise InvalidInput(fields={"slug": ["An agency with this slug exists."]}) from None
    record_by(actor, Action.CREATE, "agency", agency.pk, detail={"slug": slug, "kind": kind})
    return agency


@transaction.atomic
def agency_update(*, actor: Membership, agency_id: int, changes: dict) -> Agency:
    """Edit an agency: a network admin any agency's name, kind and profile; an agency
    admin only their own agency's profile. Audits ``update`` of ``agency`` naming the
    fields changed."""
    agency = _locked_agency(agency_id)
    if actor.role == Role.NETWORK_ADMIN:
        allowed = AGENCY_FIELDS
    elif actor.role == Role.AGENCY_ADMIN:
        if agency.pk != actor.agency_id:
            raise NotFound
        allowed = PROFILE_FIELDS
    else:
        raise Forbidden
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise InvalidInput(fields={name: ["You may not change this field."] for name in refused})
    if changes.get("kind", agency.kind) != AgencyKind.GOVERNMENT and _has_oversight(agency):
        raise Conflict("An agency with network admins or compliance officers stays government.")
    _check_hours({name: changes.get(name, getattr(agency, name)) for name in HOURS_FIELDS})
    changed = sorted(name for name, value in changes.items() if getattr(agency, name) != value)
    for name in changed:
        setattr(agency, name, changes[name])
    if changed:
        agency.save(update_fields=changed)
    record_by(actor, Action.UPDATE, "agency", agency.pk, detail={"fields": changed})
    return agency


@transaction.atomic
def agency_suspend(*, actor: Membership, agency_id: int) -> Agency:
    """A network admin suspends an agency: its members cannot sign in (web or API), their
    tokens and sessions end now, their open sockets close, and it cannot be chosen as a
    recipient. Audits ``update`` of ``agency`` (``{"change": "suspend"}``)."""
    _require_network_admin(actor)
    agency = _locked_agency(agency_id)
    if agency.pk == actor.agency_id:
        raise Conflict("You cannot suspend your own agency.")
    if not agency.is_active:
        raise Conflict("The agency is already suspended.")
    agency.is_active = False
    agency.save(update_fields=["is_active"])
    user_ids = list(Membership.objects.filter(agency=agency).values_list("user_id", flat=True))
    AuthToken.objects.filter(user_id__in=user_ids).delete()
    _end_sessions_of(user_ids)
    for user_id in user_ids:
        live_auth.sockets_end(user_id=user_id, reason="agency_suspended")
    record_by(
        actor,
        Action.UPDATE,
        "agency",
        agency.pk,
        detail={"change": "suspend", "members": len(user_ids)},
    )
    return agency


@transaction.atomic
def agency_reinstate(*, actor: Membership, agency_id: int) -> Agency:
    """A network admin lifts a suspension (members sign in afresh). Audits ``update``
    of ``agency`` (``{"change": "reinstate"}``)."""
    _require_network_admin(actor)
    agency = _locked_agency(agency_id)
    if agency.is_active:
        raise Conflict("The agency is not suspended.")
    agency.is_active = True
    agency.save(update_fields=["is_active"])
    record_by(actor, Action.UPDATE, "agency", agency.pk, detail={"change": "reinstate"})
    return agency


def _check_hours(hours: dict) -> None:
    """Working hours are both set (and differ) or both unset."""
    if (hours["hours_start"] is None) != (hours["hours_end"] is None):
        raise InvalidInput(fields={"hours_end": ["Give both the start and the end, or neither."]})
    if hours["hours_start"] is not None and hours["hours_start"] == hours["hours_end"]:
        raise InvalidInput(fields={"hours_end": ["The end must differ from the start."]})


def _has_oversight(agency: Agency) -> bool:
    return Membership.objects.filter(
        agency=agency, role__in=(Role.NETWORK_ADMIN, Role.COMPLIANCE_OFFICER)
    ).exists()


def _locked_agency(agency_id: int) -> Agency:
    agency = Agency.objects.select_for_update().filter(pk=agency_id).first()
    if agency is None:
        raise NotFound
    return agency


def _end_sessions_of(user_ids) -> None:
    """Delete the live database sessions of these users (one pass over the sessions)."""
    wanted = {str(user_id) for user_id in user_ids}
    if not wanted:
        return
    stale = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") in wanted
    ]
    Session.objects.filter(session_key__in=stale).delete()


def agency_shown(actor: Membership, agency_id: int) -> Agency:
    """One agency's profile, for editing: a network admin any agency, an agency admin
    their own (another's is not found). Audits ``view`` of ``agency``; call inside the
    transaction that shows it."""
    if actor.role not in (Role.NETWORK_ADMIN, Role.AGENCY_ADMIN):
        raise Forbidden
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None or (actor.role == Role.AGENCY_ADMIN and agency.pk != actor.agency_id):
        raise NotFound
    record_by(actor, Action.VIEW, "agency", agency.pk)
    return agency
