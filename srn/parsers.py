"""The API's JSON parser: DRF's, bounded. A body larger than
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused (413) before it is read whole, and a body
nested deeper than ``MAX_DEPTH`` is refused (400) before the decoder recurses into it:
neither may cost the server memory, a worker, or a ``RecursionError`` (500)."""

from __future__ import annotations

import json
import re

from django.conf import settings
from rest_framework import exceptions, parsers, status
from rest_framework.utils.json import strict_constant

# Our deepest input is an object of lists (depth 2); a margin for clients that wrap.
MAX_DEPTH = 32

# A JSON string, escapes included: brackets inside one are text, not nesting.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is larger than this service accepts."


def _declared_length(parser_context: dict) -> int:
    request = parser_context.get("request")
    meta = getattr(request, "META", {})
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_bounded(stream, parser_context: dict) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    if _declared_length(parser_context) > limit:
        raise RequestTooLarge
    raw = stream.read(limit + 1)  # a body longer than it says is refused all the same
    if len(raw) > limit:
        raise RequestTooLarge
    return raw


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` opens more than ``limit`` arrays or objects inside one
    another (a linear scan; strings are skipped)."""
    depth = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BoundedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        raw = _read_bounded(stream, parser_context)
        try:
            text = raw.decode(parser_context.get("encoding", settings.DEFAULT_CHARSET))
        except (UnicodeDecodeError, LookupError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        if nesting_exceeds(text, MAX_DEPTH):
            raise exceptions.ParseError(
                f"JSON nested deeper than {MAX_DEPTH} levels.", code="invalid"
            )
        parse_constant = strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
