from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Referral coordination"

    def ready(self):
        from consent.change_log import register_without_pii
        from coordination.models import CaseNote, Referral, StatusChange

        # Not RecipientStatus: its fields change only in ``statuses.status_move``, which
        # writes a StatusChange (from, to, action, who, when) for every move. Tracking
        # both cost a pre-save SELECT and a second LogEntry on every move for a diff
        # (status, version, updated_at) the StatusChange's own LogEntry already holds
        # and the chain's field digest already covers.
        for model in (Referral, StatusChange, CaseNote):
            register_without_pii(model)
