"""The FHIR face's routes, under ``/fhir/R4/`` (namespace ``fhir``)."""

from django.urls import path

from coordination.fhir import records, views

app_name = "fhir"

urlpatterns = [
    path("metadata", records.Metadata.as_view(), name="metadata"),
    path("ServiceRequest", views.ServiceRequestSearch.as_view(), name="servicerequest-search"),
    path(
        "ServiceRequest/<uuid:referral_id>",
        views.ServiceRequestRead.as_view(),
        name="servicerequest-read",
    ),
    path("Task", views.TaskSearch.as_view(), name="task-search"),
    path("Task/<uuid:referral_id>-<int:agency_id>", views.TaskRead.as_view(), name="task-read"),
    path("Patient", views.PatientSearch.as_view(), name="patient-search"),
    path("Patient/<uuid:survivor_id>", views.PatientRead.as_view(), name="patient-read"),
    path("Consent", records.ConsentSearch.as_view(), name="consent-search"),
    path("Consent/<uuid:consent_id>", records.ConsentRead.as_view(), name="consent-read"),
    path("AuditEvent", records.AuditEventSearch.as_view(), name="auditevent-search"),
]
