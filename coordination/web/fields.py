"""The pages' form fields, built from the input rules (``consent.inputs``,
``coordination.inputs``): one builder, so a limit is declared once for the pages and the
API alike. Labels, help texts and widgets are the form's own."""

from __future__ import annotations

from datetime import UTC

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils import timezone

from agencies import inputs

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class UtcDateTimeField(forms.DateTimeField):
    """A browser's ``datetime-local`` carries no offset: the page reads it as UTC (its
    label says so), never in the server's zone."""

    def to_python(self, value):
        with timezone.override(UTC):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(UTC):
            return super().prepare_value(value)


def _at_most(limit: int) -> MaxLengthValidator:
    return MaxLengthValidator(limit, message=f"Choose at most {limit}.")


def form_field(rule: inputs.Rule, **presentation) -> forms.Field:
    """The form field that accepts what ``rule`` says; ``presentation`` (label,
    help_text, widget, initial) is passed through."""
    validators = list(rule.validators)
    match rule:
        case inputs.Email():
            return forms.EmailField(
                max_length=rule.max_length,
                required=rule.required,
                validators=validators,
                **presentation,
            )
        case inputs.Text():
            return forms.CharField(
                max_length=rule.max_length,
                required=rule.required,
                validators=validators,
                **presentation,
            )
        case inputs.Date():
            return forms.DateField(required=rule.required, validators=validators, **presentation)
        case inputs.AwareDateTime():
            presentation.setdefault("widget", DateTimeLocalInput())
            return UtcDateTimeField(
                required=rule.required,
                input_formats=[DATETIME_LOCAL],
                validators=validators,
                **presentation,
            )
        case inputs.Flag():
            # An unticked box sends nothing: false, which the validators may refuse.
            return forms.BooleanField(required=False, validators=validators, **presentation)
        case inputs.Uuid():
            return forms.UUIDField(required=rule.required, validators=validators, **presentation)
        case inputs.Choice():
            if rule.has_default:
                presentation.setdefault("initial", rule.default)
            return forms.TypedChoiceField(
                choices=rule.choices,
                required=rule.required,
                empty_value=rule.default if rule.has_default else "",
                validators=validators,
                **presentation,
            )
        case inputs.Choices():
            return forms.MultipleChoiceField(
                choices=rule.choices,
                required=rule.min_items > 0,
                validators=[*validators, _at_most(rule.max_items)],
                **presentation,
            )
        case inputs.Ids():
            # The page offers the choices; an empty choice is the service's to refuse.
            return forms.TypedMultipleChoiceField(
                coerce=int,
                required=False,
                validators=[*validators, _at_most(rule.max_items)],
                **presentation,
            )
    raise TypeError(f"No form field for {type(rule).__name__}.")


def rule_fields(
    rules: inputs.Rules,
    *,
    exclude=(),
    labels=None,
    help_texts=None,
    widgets=None,
    initial=None,
):
    """Class decorator: give a ``forms.Form`` one field per rule (in the rules' order,
    before the fields it declares itself), with the presentation given per name."""
    presented = {"label": labels or {}, "help_text": help_texts or {}, "widget": widgets or {}}
    presented["initial"] = initial or {}

    def decorate(form_class: type[forms.Form]) -> type[forms.Form]:
        built = {
            name: form_field(
                rule,
                **{key: given[name] for key, given in presented.items() if name in given},
            )
            for name, rule in rules.items()
            if name not in exclude
        }
        form_class.base_fields = {**built, **form_class.base_fields}
        form_class.declared_fields = dict(form_class.base_fields)
        return form_class

    return decorate
