"""What the audit API shows and accepts."""

from __future__ import annotations

from rest_framework import serializers

from audit.alerts import NOTE_MAX
from audit.chain import HASHED_FIELDS
from audit.models import Alert, AuditEntry, Disclosure

EXPORT_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")
EXPORT_FORMATS = ("csv", "json")


class AuditEntrySerializer(serializers.ModelSerializer):
    categories = serializers.ListField(child=serializers.CharField())
    consent_ids = serializers.ListField(child=serializers.CharField())
    detail = serializers.DictField(help_text="codes, ids and states; never free text")

    class Meta:
        model = AuditEntry
        fields = list(EXPORT_FIELDS)


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=EXPORT_FORMATS,
        required=False,
        help_text="Stream every match instead of a page: CSV, or JSON one entry a line.",
    )


class VerifyResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField(help_text="entries checked before the first bad one")
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    head_seq = serializers.IntegerField()
    head_hash = serializers.CharField()


class DisclosureSerializer(serializers.ModelSerializer):
    categories = serializers.ListField(child=serializers.CharField())
    consent_ids = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Disclosure
        exclude = ["id"]  # every column of a ledger line


class AlertSerializer(serializers.ModelSerializer):
    rule_label = serializers.CharField(source="get_rule_display", read_only=True)
    acknowledged = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "rule_label",
            "actor_user_id",
            "actor_username",
            "actor_agency_id",
            "actor_agency",
            "window_start",
            "window_end",
            "count",
            "threshold",
            "entry_seq",
            "created_at",
            "acknowledged",
            "acknowledged_at",
            "acknowledged_by_user_id",
            "acknowledged_by_username",
            "note",
        ]

    def get_acknowledged(self, alert: Alert) -> bool:
        return alert.acknowledged_at is not None


class AlertAcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=NOTE_MAX, help_text="what was found and done (kept on the alert only)"
    )
