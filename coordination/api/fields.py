"""The API's fields, built from the input rules (``consent.inputs``,
``coordination.inputs``): one builder, so a limit is declared once for the API and
the pages alike."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from agencies import inputs
from agencies.inputs import MAX_ID


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant with its UTC offset; a naive time is refused rather than
    read in the server's zone."""

    default_error_messages = {
        "naive": "Give the time with its offset from UTC (e.g. 2026-05-01T09:00:00Z).",
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


def _id_field() -> serializers.IntegerField:
    message = "Not an agency id."
    return serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        error_messages={"min_value": message, "max_value": message},
    )


def drf_field(rule: inputs.Rule) -> serializers.Field:
    """The serializer field that accepts what ``rule`` says, and nothing else."""
    common: dict = {"validators": list(rule.validators)}
    if rule.has_default:
        common["default"] = rule.default
    else:
        common["required"] = rule.required
    match rule:
        case inputs.Email():
            return serializers.EmailField(
                max_length=rule.max_length, allow_blank=not rule.required, **common
            )
        case inputs.Text():
            return serializers.CharField(
                max_length=rule.max_length, allow_blank=not rule.required, **common
            )
        case inputs.Date():
            return serializers.DateField(allow_null=not rule.required, **common)
        case inputs.AwareDateTime():
            return AwareDateTimeField(**common)
        case inputs.Flag():
            return serializers.BooleanField(**common)
        case inputs.Uuid():
            return serializers.UUIDField(**common)
        case inputs.Choice():
            return serializers.ChoiceField(choices=rule.choices, **common)
        case inputs.Choices():
            return serializers.ListField(
                child=serializers.ChoiceField(choices=rule.choices),
                min_length=rule.min_items or None,
                max_length=rule.max_items,
                allow_empty=rule.min_items == 0,
                **common,
            )
        case inputs.Ids():
            return serializers.ListField(
                child=_id_field(), max_length=rule.max_items, allow_empty=True, **common
            )
    raise TypeError(f"No API field for {type(rule).__name__}.")


class _RulesInHeader(serializers.SerializerMetaclass):
    """Lets a rule serializer name its rules in its header:
    ``class NoteInputSerializer(RuleSerializer, rules=inputs.NOTE)``."""

    def __new__(mcs, name, bases, attrs, *, rules: inputs.Rules | None = None):
        if rules is not None:
            attrs["rules"] = rules
        return super().__new__(mcs, name, bases, attrs)

    def __init__(cls, name, bases, attrs, **_rules):
        super().__init__(name, bases, attrs)


class RuleSerializer(serializers.Serializer, metaclass=_RulesInHeader):
    """A serializer whose fields are ``rules``, built by ``drf_field``. With
    ``refuse_unknown``, a field it does not know is an error, not silently dropped."""

    rules: inputs.Rules = {}
    refuse_unknown = False

    def get_fields(self):
        return {name: drf_field(rule) for name, rule in self.rules.items()}

    def to_internal_value(self, data):
        if self.refuse_unknown and isinstance(data, dict):
            unknown = sorted(set(data) - set(self.rules))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
