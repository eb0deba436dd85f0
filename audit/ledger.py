"""The disclosure ledger: every time a survivor's data reached another agency.

A disclosure is an allowed read (``view``, ``list``, or a ``transition``, whose
response shows the referral) whose entry names the consents or emergency accesses that
authorised it: on a single object the entry's own ``survivor_ref``, ``categories`` and
``consent_ids`` (and ``detail["emergency_access"]``); on a list page each item of
``detail["items"]`` (``ref``, ``categories``, ``consents``, ``emergency_access``). A
line whose categories an emergency access released in part has ``basis``
``emergency``. The owner agency's own reads carry neither and are not disclosures.
"""

from __future__ import annotations

from collections.abc import Iterator

from audit.models import Action, Disclosure, Outcome

# Accesses that hand survivor data back: reads, and a transition (its response is
# the referral as released to the caller).
READS = frozenset({Action.VIEW, Action.LIST, Action.TRANSITION})
LEDGER_FIELDS = (
    "entry_seq",
    "at",
    "action",
    "object_type",
    "actor_user_id",
    "actor_username",
    "actor_agency_id",
    "actor_agency",
    "actor_role",
    "object_id",
    "survivor_ref",
    "categories",
    "consent_ids",
    "basis",
    "emergency_access_ids",
)
# What ``disclosed`` says of each line, in this order; the rest is its entry's.
SUBJECT_FIELDS = LEDGER_FIELDS[LEDGER_FIELDS.index("object_id") :]
CONSENT = "consent"
EMERGENCY = "emergency"
ACTOR_FIELDS = (
    "actor_user_id",
    "actor_username",
    "actor_agency_id",
    "actor_agency",
    "actor_role",
)


def disclosed(object_id, survivor_ref, categories, consent_ids, detail) -> list[tuple]:
    """(object_id, survivor_ref, categories, consent_ids, basis, emergency_access_ids) of
    each line an allowed read makes, from its entry's values: the verifier's row loop
    calls it on raw rows."""
    detail = detail if isinstance(detail, dict) else {}
    if not detail:  # most reads: the entry's own survivor under consent, or nothing
        if survivor_ref and consent_ids:
            return [(object_id, survivor_ref, list(categories), list(consent_ids), CONSENT, [])]
        return []
    lines = []
    emergency = _emergency_ids(detail)
    if survivor_ref and (consent_ids or emergency):
        basis = EMERGENCY if emergency else CONSENT
        lines.append(
            (object_id, survivor_ref, list(categories), list(consent_ids), basis, emergency)
        )
    filters = detail.get("filters") if isinstance(detail.get("filters"), dict) else {}
    items = detail.get("items", filters.get("items", []))
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not item.get("ref"):
            continue
        emergency = _emergency_ids(item)
        if item.get("consents") or emergency:
            lines.append(
                (
                    str(item.get("referral", "")),
                    item["ref"],
                    sorted(item.get("categories", [])),
                    sorted(item.get("consents") or []),
                    EMERGENCY if emergency else CONSENT,
                    emergency,
                )
            )
    return lines


def disclosures_of(entry) -> Iterator[dict]:
    """The ledger lines an entry makes (none for most entries)."""
    if entry.outcome != Outcome.ALLOWED or entry.action not in READS:
        return
    common = {
        "entry_seq": entry.seq,
        "at": entry.at,
        "action": entry.action,
        "object_type": entry.object_type,
        **{name: getattr(entry, name) for name in ACTOR_FIELDS},
    }
    subjects = disclosed(
        entry.object_id, entry.survivor_ref, entry.categories, entry.consent_ids, entry.detail
    )
    for subject in subjects:
        yield {**common, **dict(zip(SUBJECT_FIELDS, subject, strict=True))}


def _emergency_ids(detail: dict) -> list[str]:
    found = detail.get("emergency_access")
    return sorted(str(i) for i in found) if isinstance(found, list) else []


def index_disclosures(entry) -> int:
    """Write the entry's ledger lines (inside ``record``'s transaction)."""
    lines = [Disclosure(**line) for line in disclosures_of(entry)]
    if lines:
        Disclosure.objects.bulk_create(lines)
    return len(lines)
