"""The compliance pages' query forms (the audit API's filters, by the same names)."""

from __future__ import annotations

from django import forms

from audit.models import Action

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class AuditSearchForm(forms.Form):
    """The audit API's filters, by the same names."""

    actor = forms.IntegerField(required=False, label="Actor (user id)")
    agency = forms.CharField(max_length=64, required=False, label="Agency (slug)")
    action = forms.ChoiceField(choices=[("", "any"), *Action.choices], required=False)
    object_type = forms.CharField(max_length=64, required=False)
    object_id = forms.CharField(max_length=64, required=False)
    survivor_ref = forms.CharField(max_length=16, required=False, label="Survivor ref")
    outcome = forms.ChoiceField(
        choices=[("", "any"), ("allowed", "allowed"), ("denied", "denied")], required=False
    )
    since = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )
    until = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )


class LedgerForm(forms.Form):
    """The ledger API's query: one survivor ref, an optional time range."""

    survivor_ref = forms.RegexField(
        regex=r"^S-[A-Z0-9]{8}$",
        max_length=10,
        label="Survivor ref",
        error_messages={"invalid": "A survivor ref looks like S-7F3K92QD."},
    )
    since = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )
    until = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), input_formats=[DATETIME_LOCAL]
    )
