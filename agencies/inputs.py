"""The kinds of input rule. Each app declares its inputs once with these (for example
``consent.inputs``), and each face builds its own fields from them: the API its
serializer fields, the pages their form fields. A rule says what one value must be on
its own (kind, length, choices, required, validators); rules that need stored state or
several fields stay in the services.

Validators are Django validators (callables raising ``ValidationError``): both DRF and
Django forms run them and report their message next to the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The largest id an agency (a Django ``AutoField``) can have: anything beyond is not an
# agency, and must not reach the database (SQLite and PostgreSQL overflow at 2**63).
MAX_ID = 2**31 - 1


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True, kw_only=True)
class Rule:
    """``required``: the input must be given (and, for text, not blank). ``default``: the
    value an absent input takes (only for optional inputs)."""

    required: bool = True
    default: Any = NO_DEFAULT
    validators: tuple[Callable[[Any], None], ...] = field(default=())

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT

    def __post_init__(self) -> None:
        if self.required and self.has_default:
            raise ValueError("A required input has no default.")


@dataclass(frozen=True, kw_only=True)
class Text(Rule):
    """One line or more of text, surrounding whitespace stripped."""

    max_length: int


@dataclass(frozen=True, kw_only=True)
class Email(Text):
    max_length: int = 254


@dataclass(frozen=True, kw_only=True)
class Date(Rule):
    """A calendar date (ISO ``YYYY-MM-DD`` over the API)."""


@dataclass(frozen=True, kw_only=True)
class AwareDateTime(Rule):
    """An instant: a date and time with its offset from UTC. A time without one would
    take its meaning from the server's zone, so the API refuses it; a page reads its
    (offset-less) time fields as UTC and says so on the label."""


@dataclass(frozen=True, kw_only=True)
class Flag(Rule):
    """True or false; a page's unticked box is false."""


@dataclass(frozen=True, kw_only=True)
class Uuid(Rule):
    pass


@dataclass(frozen=True, kw_only=True)
class Choice(Rule):
    """One of ``choices`` (``(value, label)`` pairs, e.g. a ``TextChoices.choices``)."""

    choices: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class Choices(Rule):
    """A list of ``min_items`` to ``max_items`` of ``choices``."""

    choices: tuple[tuple[str, str], ...]
    max_items: int
    min_items: int = 1


@dataclass(frozen=True, kw_only=True)
class Ids(Rule):
    """A list of at most ``max_items`` object ids (1 to ``MAX_ID``). Whether they name
    objects that may be chosen is the service's to say."""

    max_items: int


def choices_of(text_choices) -> tuple[tuple[str, str], ...]:
    """``(value, label)`` pairs of a ``TextChoices`` class or a plain list of values."""
    pairs = getattr(text_choices, "choices", None)
    if pairs is None:
        pairs = [(value, value) for value in text_choices]
    return tuple((str(value), str(label)) for value, label in pairs)


Rules = Mapping[str, Rule]
