"""HTML forms: their fields are built from the input rules (``consent.inputs``,
``coordination.inputs``) and show errors next to them; labels, help texts and widgets
are theirs. The rules that need stored state stay in the services, whose
``InvalidInput`` the pages put back on these forms."""

from __future__ import annotations

from django import forms

from consent import inputs as consent_inputs
from consent.categories import Category
from coordination import inputs
from coordination.models import Urgency
from coordination.web.fields import rule_fields

CHECKBOXES = forms.CheckboxSelectMultiple


@rule_fields(
    consent_inputs.SURVIVOR,
    widgets={
        "date_of_birth": forms.DateInput(attrs={"type": "date"}),
        "safe_contact_instructions": forms.Textarea(attrs={"rows": 2}),
        "address": forms.Textarea(attrs={"rows": 2}),
    },
    help_texts={
        "safe_contact_instructions": 'For example "text only, never leave a voicemail".',
    },
)
class SurvivorForm(forms.Form):
    def service_data(self) -> dict:
        return dict(self.cleaned_data)


CATEGORY_HELP = {
    Category.IDENTITY: "names, date of birth",
    Category.CONTACT: "phone, email, safe-contact instructions",
    Category.LOCATION: "address",
    Category.NARRATIVE: "the referral's narrative",
    Category.IMMIGRATION: "nationality, immigration status",
    Category.MEDICAL: "medical information",
    Category.STATUS_UPDATES: "the agency may tell you its status",
    Category.CASE_NOTES: "the agency may share its case notes with you",
}


@rule_fields(
    consent_inputs.CONSENT,
    # The survivor is the page's; recipients and categories are the grid's (``grants``).
    exclude=("survivor", "recipients", "categories"),
    labels={
        "method": "How consent was given",
        "evidence_sha256": "Evidence SHA-256",
        "language": "Language of the conversation",
        "interpreter_used": "An interpreter was used",
        "notice_version": "Version of the notice shown",
        "services_not_conditional": (
            "The survivor was told that services do not depend on consenting"
        ),
        "guardian_not_alleged_trafficker": "The guardian who signed is not an alleged trafficker",
        "valid_from": "Valid from (UTC, empty for now)",
        "expires_at": "Expires at (UTC)",
    },
    help_texts={
        "evidence_sha256": (
            "The fingerprint of the signed form or recording (the file stays with you)."
        ),
    },
)
class ConsentForm(forms.Form):
    """Every element of a consent; the grid of recipient x category choices is read
    from the ``grant`` checkboxes (see ``grants``)."""

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.agencies = list(agencies)
        self.categories = list(Category)
        ticked = set(self.data.getlist("grant")) if hasattr(self.data, "getlist") else set()
        self.grid = [
            (
                agency,
                [
                    {
                        "category": category,
                        "value": f"{agency.pk}:{category.value}",
                        "id": f"grant-{agency.pk}-{category.value}",
                        "help": CATEGORY_HELP[category],
                        "checked": f"{agency.pk}:{category.value}" in ticked,
                    }
                    for category in self.categories
                ],
            )
            for agency in self.agencies
        ]

    def grants(self) -> list[tuple[list[int], list[str]]]:
        """The ticked grid (``grant`` = ``<agency id>:<category>``) as ``(recipients,
        categories)`` pairs: agencies given the same categories share one consent
        record, as the survivor agreed to each of them. Only offered cells count."""
        chosen: dict[tuple[str, ...], list[int]] = {}
        for agency, cells in self.grid:
            categories = tuple(cell["category"].value for cell in cells if cell["checked"])
            if categories:
                chosen.setdefault(categories, []).append(agency.pk)
        return [(recipients, list(categories)) for categories, recipients in chosen.items()]

    def service_fields(self) -> dict:
        fields = dict(self.cleaned_data)
        if fields.get("valid_from") is None:
            fields.pop("valid_from", None)
        return fields


@rule_fields(
    consent_inputs.REVOCATION,
    labels={"channel": "How the survivor told you"},
)
class RevokeForm(forms.Form):
    pass


@rule_fields(consent_inputs.ERASURE, labels={"reason": "Why the data is erased"})
class ErasureForm(forms.Form):
    """Erasure is for good: the form asks for the reason and an explicit confirmation."""

    confirm = forms.BooleanField(
        label="I understand: the survivor's data is destroyed for good, in every copy, "
        "and their open referrals are cancelled."
    )


@rule_fields(
    inputs.REFERRAL,
    labels={"survivor": "Survivor (by reference)", "recipients": "Refer to"},
    widgets={
        "survivor": forms.Select,
        "recipients": CHECKBOXES,
        "needs": CHECKBOXES,
        "narrative": forms.Textarea(attrs={"rows": 5}),
    },
    help_texts={
        "narrative": "Shared with a recipient only if consent names the narrative category.",
    },
    initial={"urgency": Urgency.ROUTINE},
)
class ReferralForm(forms.Form):
    def __init__(self, *args, survivors=(), agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survivor"].widget.choices = [
            ("", "Choose…"),
            *[(str(s.pk), s.ref) for s in survivors],
        ]
        self.fields["recipients"].choices = [(a.pk, a.name) for a in agencies]


@rule_fields(inputs.TRANSITION)
class TransitionForm(forms.Form):
    # The page's copy of the ETag (the API's If-Match).
    etag = forms.CharField(max_length=64, required=False)


@rule_fields(inputs.NOTE, widgets={"text": forms.Textarea(attrs={"rows": 3})})
class NoteForm(forms.Form):
    pass


@rule_fields(
    inputs.EMERGENCY_ACCESS,
    labels={
        "reason_code": "Reason",
        "justification": "What is happening (at least 20 characters)",
        "categories": "Open only what you need",
    },
    widgets={
        "reason_code": forms.RadioSelect,
        "justification": forms.Textarea(attrs={"rows": 4}),
        "categories": CHECKBOXES,
    },
    help_texts={
        "justification": (
            "Read by the compliance officers who review this use. Describe the situation; "
            "do not copy the survivor's details into it."
        ),
    },
)
class EmergencyAccessForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"].choices = [
            (value, f"{label} ({CATEGORY_HELP[value]})")
            for value, label in self.fields["categories"].choices
        ]


@rule_fields(
    inputs.EMERGENCY_REVIEW,
    labels={"decision": "Decision", "note": "Review note"},
    widgets={"note": forms.Textarea(attrs={"rows": 2})},
)
class EmergencyReviewForm(forms.Form):
    pass
