from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and members"

    def ready(self):
        from auditlog.registry import auditlog

        from agencies import oversight
        from agencies.models import Agency, Membership
        from audit import alert_watch

        # No PII here (agencies may not import consent's PII declarations; a test
        # checks that no registered model tracks an encrypted or PII field).
        auditlog.register(Agency, serialize_data=False)
        auditlog.register(Membership, serialize_data=False)
        # Access alerts: reads outside an agency's hours; who is told of an alert.
        alert_watch.connect(
            agency_hours=oversight.office_hours, recipients=oversight.alert_recipients
        )
