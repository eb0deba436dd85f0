from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Referral coordination"

    def ready(self):
        from consent.change_log import register_without_pii
        from coordination.models import CaseNote, RecipientStatus, Referral, StatusChange

        for model in (Referral, RecipientStatus, StatusChange, CaseNote):
            register_without_pii(model)
