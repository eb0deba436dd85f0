"""Survivor profiles: created and changed by a liaison of the owner agency, each change
one durable transaction with its audit entry. Input has been validated by the face
against ``consent.inputs`` (a date of birth comes as a ``date``); these keep the
invariants that depend on the stored profile (owner agency, at least one name)."""

from __future__ import annotations

from datetime import date

from agencies.errors import Erased, Forbidden, InvalidInput, NotFound, PreconditionFailed
from agencies.models import Membership, Role
from audit.models import Action
from audit.recorder import record_by
from audit.units import unit
from consent.categories import FIELD_CATEGORY, SURVIVOR_PII_FIELDS
from consent.models import Survivor

SURVIVOR_FIELDS = frozenset((*SURVIVOR_PII_FIELDS, "preferred_language"))
NAME_MISSING = {"given_name": ["Give at least one name (given or family)."]}


def _stored_values(data: dict) -> dict:
    """The profile's stored form of validated input: the date of birth (a ``date``, or
    its ISO text) as ISO text, none as blank. Anything else is a caller's bug: the
    faces refuse unknown fields and malformed dates before they get here."""
    unknown = set(data) - SURVIVOR_FIELDS
    if unknown:
        raise TypeError(f"Not survivor fields: {sorted(unknown)}")
    values = {name: "" if value is None else value for name, value in data.items()}
    born = values.get("date_of_birth")
    if born:
        values["date_of_birth"] = (
            born if isinstance(born, date) else date.fromisoformat(born)
        ).isoformat()
    return values


def _pii_categories(names) -> list[str]:
    return sorted({FIELD_CATEGORY[name] for name in names if name in FIELD_CATEGORY})


@unit
def survivor_create(*, actor: Membership, data: dict) -> Survivor:
    """A liaison creates a survivor profile owned by their agency. Audits ``create``."""
    if actor.role != Role.LIAISON:
        raise Forbidden("Only liaisons create survivor profiles.")
    clean = _stored_values(data)
    if not (clean.get("given_name") or clean.get("family_name")):
        raise InvalidInput(fields=NAME_MISSING)
    survivor = Survivor.objects.create(owner_agency=actor.agency, created_by=actor.user, **clean)
    record_by(
        actor,
        Action.CREATE,
        "survivor",
        survivor.pk,
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
    if survivor.erased_at is not None:
        raise Erased
    return survivor


@unit
def survivor_update(
    *, actor: Membership, survivor_id, data: dict, if_match: str | None = None
) -> Survivor:
    """Change a profile of the actor's agency; a stale ``if_match`` fails. Audits ``update``."""
    survivor = _owned_survivor_for_update(actor, survivor_id)
    if if_match is not None and if_match != str(survivor.version):
        raise PreconditionFailed
    clean = _stored_values(data)
    for name, value in clean.items():
        setattr(survivor, name, value)
    if not (survivor.given_name or survivor.family_name):
        raise InvalidInput(fields=NAME_MISSING)
    survivor.version += 1
    survivor.save()
    record_by(
        actor,
        Action.UPDATE,
        "survivor",
        survivor.pk,
        survivor_ref=survivor.ref,
        categories=_pii_categories(clean),
        detail={"fields": sorted(clean)},
    )
    return survivor
