"""The disclosure ledger: every time a survivor's data reached another agency.

A disclosure is an allowed read (``view``, ``list``, or a ``transition``, whose
response shows the referral) whose entry names the consents that authorised it: on
a single object the entry's own ``survivor_ref``, ``categories`` and ``consent_ids``;
on a list page each item of ``detail["items"]`` (``ref``, ``categories``,
``consents``). The owner agency's own reads carry no
consent and are not disclosures.
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
)
ACTOR_FIELDS = (
    "actor_user_id",
    "actor_username",
    "actor_agency_id",
    "actor_agency",
    "actor_role",
)


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
    if entry.survivor_ref and entry.consent_ids:
        yield {
            **common,
            "object_id": entry.object_id,
            "survivor_ref": entry.survivor_ref,
            "categories": list(entry.categories),
            "consent_ids": list(entry.consent_ids),
        }
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    filters = detail.get("filters") if isinstance(detail.get("filters"), dict) else {}
    items = detail.get("items", filters.get("items", []))
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("ref") and item.get("consents"):
            yield {
                **common,
                "object_id": str(item.get("referral", "")),
                "survivor_ref": item["ref"],
                "categories": sorted(item.get("categories", [])),
                "consent_ids": sorted(item["consents"]),
            }


def index_disclosures(entry) -> int:
    """Write the entry's ledger lines (inside ``record``'s transaction)."""
    lines = [Disclosure(**line) for line in disclosures_of(entry)]
    if lines:
        Disclosure.objects.bulk_create(lines)
    return len(lines)
