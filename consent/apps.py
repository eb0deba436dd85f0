from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self):
        from consent.change_log import register_without_pii
        from consent.models import Consent, ConsentRevocation, Survivor

        register_without_pii(Survivor)
        register_without_pii(Consent, m2m_fields={"recipients"})
        register_without_pii(ConsentRevocation)
