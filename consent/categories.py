"""Data categories, and which category each survivor field belongs to.

Declared once here; serializers and the event stream read it, nobody re-declares it.
"""

from __future__ import annotations

from django.db import models


class Category(models.TextChoices):
    # released to a recipient
    IDENTITY = "identity"
    CONTACT = "contact"
    LOCATION = "location"
    NARRATIVE = "narrative"
    IMMIGRATION = "immigration"
    MEDICAL = "medical"
    # released back to the referrer
    STATUS_UPDATES = "status_updates"
    CASE_NOTES = "case_notes"


RECIPIENT_CATEGORIES = frozenset(
    {
        Category.IDENTITY,
        Category.CONTACT,
        Category.LOCATION,
        Category.NARRATIVE,
        Category.IMMIGRATION,
        Category.MEDICAL,
    }
)
REFERRER_CATEGORIES = frozenset({Category.STATUS_UPDATES, Category.CASE_NOTES})
ALL_CATEGORIES = RECIPIENT_CATEGORIES | REFERRER_CATEGORIES

# Survivor and referral fields holding PII, by category. Fields not listed here
# (ref, needs, urgency, region, language, preferred_language) are not PII and are
# shown to any recipient with an active consent.
FIELD_CATEGORY: dict[str, str] = {
    "given_name": Category.IDENTITY,
    "family_name": Category.IDENTITY,
    "date_of_birth": Category.IDENTITY,
    "phone": Category.CONTACT,
    "email": Category.CONTACT,
    "safe_contact_instructions": Category.CONTACT,
    "address": Category.LOCATION,
    "nationality": Category.IMMIGRATION,
    "immigration_status": Category.IMMIGRATION,
    "narrative": Category.NARRATIVE,
}

PII_FIELDS = frozenset(FIELD_CATEGORY)
# The survivor profile's own PII (narrative belongs to the referral), in declared order.
SURVIVOR_PII_FIELDS = tuple(name for name in FIELD_CATEGORY if name != "narrative")
SURVIVOR_CATEGORIES = frozenset(FIELD_CATEGORY[name] for name in SURVIVOR_PII_FIELDS)
