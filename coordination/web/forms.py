"""HTML forms: they parse what a browser sends (types, choices) and show errors next to
their fields. The rules themselves (who, when, which values are acceptable) stay in
the services, whose ``InvalidInput`` the pages put back on these forms."""

from __future__ import annotations

from django import forms

from agencies.models import Need
from consent.categories import Category
from consent.models import Method, Purpose, RevocationChannel, SignedBy
from coordination.models import Urgency

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class SurvivorForm(forms.Form):
    given_name = forms.CharField(max_length=200, required=False)
    family_name = forms.CharField(max_length=200, required=False)
    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(max_length=64, required=False)
    email = forms.EmailField(max_length=254, required=False)
    safe_contact_instructions = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='For example "text only, never leave a voicemail".',
    )
    address = forms.CharField(max_length=2000, required=False, widget=forms.Textarea({"rows": 2}))
    nationality = forms.CharField(max_length=100, required=False)
    immigration_status = forms.CharField(max_length=200, required=False)
    preferred_language = forms.CharField(max_length=35, required=False)

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        born = data.get("date_of_birth")
        data["date_of_birth"] = born.isoformat() if born else ""
        return data


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


class ConsentForm(forms.Form):
    """Every element of a consent; the grid of recipient x category choices is read
    from the ``grant`` checkboxes (see ``grants``)."""

    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.SERVICE_REFERRAL)
    method = forms.ChoiceField(choices=Method.choices, label="How consent was given")
    evidence_sha256 = forms.RegexField(
        regex=r"^[0-9a-f]{64}$",
        label="Evidence SHA-256",
        error_messages={"invalid": "Must be 64 lowercase hexadecimal characters."},
        help_text="The fingerprint of the signed form or recording (the file stays with you).",
    )
    language = forms.CharField(max_length=35, label="Language of the conversation")
    interpreter_used = forms.BooleanField(required=False, label="An interpreter was used")
    notice_version = forms.CharField(max_length=32, label="Version of the notice shown")
    services_not_conditional = forms.BooleanField(
        required=False,
        label="The survivor was told that services do not depend on consenting",
    )
    signed_by = forms.ChoiceField(choices=SignedBy.choices)
    guardian_not_alleged_trafficker = forms.BooleanField(
        required=False, label="The guardian who signed is not an alleged trafficker"
    )
    valid_from = forms.DateTimeField(
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL],
        label="Valid from (UTC, empty for now)",
    )
    expires_at = forms.DateTimeField(
        widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL], label="Expires at (UTC)"
    )

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


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.TextInput)
    channel = forms.ChoiceField(
        choices=RevocationChannel.choices, label="How the survivor told you"
    )


class ReferralForm(forms.Form):
    survivor = forms.UUIDField(widget=forms.Select, label="Survivor (by reference)")
    recipients = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.CheckboxSelectMultiple, label="Refer to"
    )
    needs = forms.MultipleChoiceField(choices=Need.choices, widget=forms.CheckboxSelectMultiple)
    urgency = forms.ChoiceField(choices=Urgency.choices, initial=Urgency.ROUTINE)
    region = forms.CharField(max_length=100, required=False)
    language = forms.CharField(max_length=35, required=False)
    narrative = forms.CharField(
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Shared with a recipient only if consent names the narrative category.",
    )

    def __init__(self, *args, survivors=(), agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survivor"].widget.choices = [
            ("", "Choose…"),
            *[(str(s.pk), s.ref) for s in survivors],
        ]
        self.fields["recipients"].choices = [(a.pk, a.name) for a in agencies]


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=16)
    reason = forms.CharField(max_length=2000, required=False)
    outcome = forms.CharField(max_length=2000, required=False)
    etag = forms.CharField(max_length=64, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
