"""What a referral, a transition and a case note accept, declared once. The API and the
pages build their fields from these; the services keep the rules that need stored state
or several fields at once (the survivor is the actor's agency's, the recipients may be
chosen, which actions need a reason)."""

from __future__ import annotations

from django.core.validators import MinLengthValidator

from agencies.inputs import Choice, Choices, Ids, Rules, Text, Uuid, choices_of
from agencies.models import Need
from consent.categories import RECIPIENT_CATEGORIES, Category
from consent.inputs import LANGUAGE_MAX, RECIPIENTS_MAX, TEXT_MAX
from coordination import states
from coordination.models import EmergencyReason, ReviewStatus, Urgency

NARRATIVE_MAX = 20000

REFERRAL: Rules = {
    "survivor": Uuid(),
    "recipients": Ids(max_items=RECIPIENTS_MAX),
    "needs": Choices(choices=choices_of(Need), max_items=len(Need)),
    "urgency": Choice(choices=choices_of(Urgency)),
    "region": Text(max_length=100, required=False, default=""),
    "language": Text(max_length=LANGUAGE_MAX, required=False, default=""),
    "narrative": Text(max_length=NARRATIVE_MAX, required=False, default=""),
}

TRANSITION: Rules = {
    "action": Choice(choices=choices_of(states.USER_ACTIONS)),
    # Which actions need a reason or an outcome is the transition table's to say.
    "reason": Text(max_length=TEXT_MAX, required=False, default=""),
    "outcome": Text(max_length=TEXT_MAX, required=False, default=""),
}

NOTE: Rules = {
    "text": Text(max_length=TEXT_MAX),
}

JUSTIFICATION_MIN = 20

EMERGENCY_ACCESS: Rules = {
    "reason_code": Choice(choices=choices_of(EmergencyReason)),
    # Free text, encrypted; read only by the compliance officers who review the use.
    "justification": Text(max_length=TEXT_MAX, validators=(MinLengthValidator(JUSTIFICATION_MIN),)),
    "categories": Choices(
        choices=tuple((c.value, c.label) for c in Category if c in RECIPIENT_CATEGORIES),
        max_items=len(RECIPIENT_CATEGORIES),
    ),
}

EMERGENCY_REVIEW: Rules = {
    "decision": Choice(
        choices=tuple((s.value, s.label) for s in ReviewStatus if s != ReviewStatus.PENDING)
    ),
    "note": Text(max_length=TEXT_MAX),
}
