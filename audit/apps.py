from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from auditlog.models import LogEntry
        from django.db.models.signals import pre_save

        from audit import alert_watch, sealer
        from audit.field_changes import stamp_from_request

        # Connected once, not per request (auditlog's set_actor connects a receiver
        # per call, issue #846), and reads the user late: DRF authenticates a token
        # after every Django middleware has run.
        pre_save.connect(stamp_from_request, sender=LogEntry, dispatch_uid="srn-field-changes")

        # The access-alert rules count each entry once, as it is sealed.
        if alert_watch.watch not in sealer.IN_SEALING:
            sealer.IN_SEALING.append(alert_watch.watch)
