from django.urls import path

from audit.api import views

urlpatterns = [
    path("audit/entries/", views.AuditEntryListView.as_view(), name="audit-entries"),
    path("audit/ledger/", views.DisclosureLedgerView.as_view(), name="audit-ledger"),
    path("audit/verify/", views.AuditVerifyView.as_view(), name="audit-verify"),
    path("audit/alerts/", views.AlertListView.as_view(), name="audit-alerts"),
    path(
        "audit/alerts/<int:alert_id>/acknowledge/",
        views.AlertAcknowledgeView.as_view(),
        name="audit-alert-acknowledge",
    ),
]
