"""The compliance officer's view of the audit trail. Reads of it are audited too.

``audit`` imports no other app: the caller's membership comes from the default
permission class (``request.member``), and the role is checked by name.
"""

from __future__ import annotations

import csv
import json

from django.db import transaction
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.chain import HASHED_FIELDS
from audit.filters import AuditEntryFilter
from audit.models import Action, AuditEntry, Disclosure
from audit.recorder import Actor, record
from audit.selectors import disclosure_ledger, ledger_read_record
from audit.verify import verify_chain

COMPLIANCE_OFFICER = "compliance_officer"
EXPORT_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")


def _compliance_actor(request) -> Actor:
    member = getattr(request, "member", None)
    if member is None or member.role != COMPLIANCE_OFFICER:
        raise PermissionDenied("Only compliance officers read the audit trail.")
    return member.as_actor()


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = list(EXPORT_FIELDS)


class SeqCursorPagination(CursorPagination):
    ordering = "-seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class _Echo:
    def write(self, value):
        return value


class AuditEntryListView(GenericAPIView):
    """Filter the trail (actor, agency, action, object, survivor_ref, outcome, since,
    until); ``?format=csv`` or ``?format=json`` streams every match (NDJSON)."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    pagination_class = SeqCursorPagination
    queryset = AuditEntry.objects.all()

    @extend_schema(responses=AuditEntrySerializer(many=True))
    def get(self, request):
        actor = _compliance_actor(request)
        entries = self.filter_queryset(self.get_queryset())
        filters = {
            k: v for k, v in request.query_params.items() if k in AuditEntryFilter.base_filters
        }
        export = request.query_params.get("format")
        if export in ("csv", "json"):
            with transaction.atomic():
                record(
                    action=Action.EXPORT,
                    actor=actor,
                    object_type="audit_entry",
                    detail={"format": export, "filters": filters},
                )
            return self._stream(entries.order_by("seq"), export)
        with transaction.atomic():
            page = self.paginate_queryset(entries)
            record(
                action=Action.LIST,
                actor=actor,
                object_type="audit_entry",
                detail={"count": len(page), "filters": filters},
            )
            return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _stream(self, entries, export):
        rows = entries.values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)
        if export == "csv":
            writer = csv.writer(_Echo())

            def lines():
                yield writer.writerow(EXPORT_FIELDS)
                for row in rows:
                    yield writer.writerow(
                        [json.dumps(v) if isinstance(v, list | dict) else v for v in row]
                    )

            content_type = "text/csv"
        else:

            def lines():
                for row in rows:
                    yield json.dumps(dict(zip(EXPORT_FIELDS, row, strict=True)), default=str) + "\n"

            content_type = "application/x-ndjson"
        response = StreamingHttpResponse(lines(), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="audit.{export}"'
        return response


class AuditVerifyView(APIView):
    """Recompute the chain against the stored signed checkpoints."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        actor = _compliance_actor(request)
        result = verify_chain()
        with transaction.atomic():
            record(
                action=Action.VERIFY,
                actor=actor,
                object_type="audit_chain",
                detail={"ok": result.ok, "first_bad_seq": result.first_bad_seq},
            )
        return Response(result.as_dict())


class DisclosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Disclosure
        fields = [
            "entry_seq",
            "at",
            "survivor_ref",
            "actor_user_id",
            "actor_username",
            "actor_agency_id",
            "actor_agency",
            "actor_role",
            "action",
            "object_type",
            "object_id",
            "categories",
            "consent_ids",
        ]


class LedgerQuerySerializer(serializers.Serializer):
    survivor_ref = serializers.RegexField(r"^S-[A-Z0-9]{8}$")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class LedgerPagination(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class DisclosureLedgerView(GenericAPIView):
    """A survivor's disclosure ledger (``?survivor_ref=S-…``, optional ``since`` and
    ``until``): every disclosure of their data to another agency, its categories and
    the consents that authorised it. Compliance officers; each page is audited."""

    serializer_class = DisclosureSerializer
    pagination_class = LedgerPagination
    queryset = Disclosure.objects.none()  # schema only

    @extend_schema(parameters=[LedgerQuerySerializer], responses=DisclosureSerializer(many=True))
    def get(self, request):
        actor = _compliance_actor(request)
        query = LedgerQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        ref = query.validated_data["survivor_ref"]
        lines = disclosure_ledger(
            actor=actor,
            survivor_ref=ref,
            since=query.validated_data.get("since"),
            until=query.validated_data.get("until"),
        )
        with transaction.atomic():
            page = self.paginate_queryset(lines)
            ledger_read_record(actor=actor, survivor_ref=ref, count=len(page))
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
