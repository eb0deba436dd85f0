from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and members"

    def ready(self):
        from auditlog.registry import auditlog

        from agencies.models import Agency, Membership

        # No PII here (agencies may not import consent's PII declarations; a test
        # checks that no registered model tracks an encrypted or PII field).
        auditlog.register(Agency, serialize_data=False)
        auditlog.register(Membership, serialize_data=False)
