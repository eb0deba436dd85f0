"""``GET /api/v1/reports/referrals/``: the de-identified referral report, as JSON or
CSV (``?format=csv`` or ``Accept: text/csv``). The report, its scope, its suppression
and its audit entry are ``coordination.reports``'."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.errors import InvalidInput
from agencies.permissions import role_required
from agencies.routes import route
from audit.api.export import csv_cell
from coordination import reports
from coordination.suppression import THRESHOLD

CSV = "text/csv"
MEASURES = reports.MEASURES


class CsvRenderer(BaseRenderer):
    """Lets ``Accept: text/csv`` choose the CSV (the view writes it)."""

    media_type = CSV
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class ReportQuery(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=reports.GROUPINGS, required=False)
    since = serializers.DateTimeField(
        required=False, help_text="referrals made at or after (ISO 8601)"
    )
    until = serializers.DateTimeField(required=False, help_text="referrals made before")
    format = serializers.ChoiceField(choices=["csv"], required=False)


def _nullable(field_class, **kwargs):
    return field_class(allow_null=True, required=False, **kwargs)


class ReportRow(serializers.Serializer):
    group = serializers.CharField(help_text="the need, region, urgency, status or agency")
    referrals = _nullable(serializers.IntegerField, help_text="distinct referrals")
    requests = _nullable(serializers.IntegerField, help_text="referrals sent to one agency")
    accepted = _nullable(serializers.IntegerField, help_text="requests ever accepted")
    declined = _nullable(serializers.IntegerField)
    acceptance_rate = _nullable(serializers.FloatField, help_text="accepted / requests")
    decline_rate = _nullable(serializers.FloatField, help_text="declined / requests")
    median_hours_to_acceptance = _nullable(
        serializers.IntegerField, help_text="whole hours (rounded down), nearest rank"
    )
    p90_hours_to_acceptance = _nullable(serializers.IntegerField)
    suppressed = serializers.ListField(
        child=serializers.ChoiceField(choices=MEASURES),
        help_text=f"measures withheld (null): counts below {THRESHOLD}, cells that would "
        "give one away, rates and durations computed from them",
    )


class ReferralReport(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=reports.GROUPINGS)
    scope = serializers.CharField(help_text='"network", or the agency\'s slug')
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    threshold = serializers.IntegerField(help_text="the smallest count shown")
    measures = serializers.ListField(child=serializers.ChoiceField(choices=MEASURES))
    rows = ReportRow(many=True)
    total = ReportRow()


def _row(row) -> dict:
    return {"group": row.group, **row.values, "suppressed": list(row.suppressed)}


def report_shown(report: reports.Report) -> dict:
    return {
        "group_by": report.group_by,
        "scope": report.scope,
        "since": report.since,
        "until": report.until,
        "threshold": THRESHOLD,
        "measures": list(report.measures.names),
        "rows": [_row(row) for row in report.rows],
        "total": _row(report.total),
    }


def report_csv(report: reports.Report) -> HttpResponse:
    headers, rows = report.table()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    response = HttpResponse(text.getvalue(), content_type=f"{CSV}; charset=utf-8")
    name = f"referrals-by-{report.group_by}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@route("reports/referrals/", name="referral-report")
class ReferralReportView(APIView):
    """De-identified counts of referrals by need, region, urgency, status or recipient
    agency, with acceptance and decline rates and the hours from referral to acceptance
    (median, 90th percentile). Network admins see the network, agency admins their
    agency; every count below 11 is withheld (``null``, named in ``suppressed``), and so
    is any cell or total that would give one away. Each read is audited."""

    permission_classes = [role_required(*reports.REPORTING_ROLES)]
    renderer_classes = [JSONRenderer, CsvRenderer]

    def handle_exception(self, exc):
        # Errors are JSON whatever the client accepts (the one error body).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        parameters=[ReportQuery],
        responses={
            (200, "application/json"): ReferralReport,
            (200, CSV): OpenApiResponse(
                OpenApiTypes.STR,
                description="with ?format=csv or Accept: text/csv: one row per group, "
                "the total last; a withheld count reads <11",
            ),
        },
    )
    def get(self, request):
        export = request.query_params.get("format", "")
        if export not in ("", "csv"):
            raise InvalidInput(fields={"format": ["Use csv, or leave it out for JSON."]})
        params = reports.parameters(request.query_params)
        wants_csv = export == "csv" or request.accepted_renderer.format == "csv"
        report = reports.referral_report(request.member, params, export="csv" if wants_csv else "")
        if wants_csv:
            return report_csv(report)
        return Response(ReferralReport(report_shown(report)).data)
