"""The compliance officer's pages. ``audit`` imports no other app, so the project
passes in the gate that signs members in and checks their role (``srn.urls``); each
page also checks the role itself (``require_compliance_officer``)."""

from __future__ import annotations

from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from audit.web import views


def urlpatterns_behind(gate) -> list:
    return [
        path("audit/", require_safe(gate(views.audit_search)), name="audit"),
        path("audit/verify/", require_safe(gate(views.audit_verify)), name="audit-verify"),
        path("audit/ledger/", require_safe(gate(views.audit_ledger)), name="audit-ledger"),
        path(
            "audit/alerts/<int:alert_id>/",
            require_http_methods(["GET", "HEAD", "POST"])(gate(views.alert_review)),
            name="audit-alert",
        ),
    ]
