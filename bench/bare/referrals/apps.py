from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "bench.bare.referrals"
    label = "bare_referrals"
    default_auto_field = "django.db.models.BigAutoField"
