"""The audit export's two streamed formats: CSV for spreadsheets, NDJSON for tools.

Entries hold values that clients wrote (the user agent of a refused request, the ids
in its URL), so a CSV cell could reach a spreadsheet as a formula. Cells that start
with a formula trigger are prefixed with ``'`` (OWASP's CSV injection advice);
``defusedcsv`` would not do: it leaves a leading tab or carriage return alone and
rewrites ``|`` inside cells. The NDJSON stays raw JSON: no spreadsheet reads it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from audit.api.serializers import EXPORT_FIELDS

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {"csv": "text/csv", "json": "application/x-ndjson"}


def csv_cell(value) -> object:
    """One cell as a spreadsheet may safely read it."""
    if isinstance(value, list | dict):
        value = json.dumps(value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def _csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def _ndjson_lines(rows: Iterable[tuple]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(dict(zip(EXPORT_FIELDS, row, strict=True)), default=str) + "\n"


def export_response(entries: QuerySet, export_format: str) -> StreamingHttpResponse:
    """Stream ``entries`` (already in the order to export) as ``csv`` or ``json``."""
    rows = entries.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
    lines = _csv_lines(rows) if export_format == "csv" else _ndjson_lines(rows)
    response = StreamingHttpResponse(lines, content_type=CONTENT_TYPES[export_format])
    response["Content-Disposition"] = f'attachment; filename="audit.{export_format}"'
    return response
