from django.urls import path

from coordination.api import emergency, events, reports, survivor_rights, views

urlpatterns = [
    path("survivors/", views.SurvivorListView.as_view(), name="survivor-list"),
    path(
        "survivors/<uuid:survivor_id>/", views.SurvivorDetailView.as_view(), name="survivor-detail"
    ),
    path(
        "survivors/<uuid:survivor_id>/erasure/",
        views.SurvivorErasureView.as_view(),
        name="survivor-erasure",
    ),
    path("consents/", views.ConsentListView.as_view(), name="consent-list"),
    path(
        "consents/<uuid:consent_id>/revoke/",
        views.ConsentRevokeView.as_view(),
        name="consent-revoke",
    ),
    path("referrals/", views.ReferralListView.as_view(), name="referral-list"),
    path(
        "referrals/<uuid:referral_id>/", views.ReferralDetailView.as_view(), name="referral-detail"
    ),
    path(
        "referrals/<uuid:referral_id>/transitions/",
        views.TransitionView.as_view(),
        name="referral-transitions",
    ),
    path(
        "referrals/<uuid:referral_id>/notes/", views.NoteListView.as_view(), name="referral-notes"
    ),
    path(
        "referrals/<uuid:referral_id>/emergency-access/",
        emergency.EmergencyAccessOpenView.as_view(),
        name="referral-emergency-access",
    ),
    path("emergency-access/", emergency.EmergencyAccessListView.as_view(), name="emergency-list"),
    path(
        "emergency-access/<uuid:access_id>/review/",
        emergency.EmergencyAccessReviewView.as_view(),
        name="emergency-review",
    ),
    path(
        "survivors/<uuid:survivor_id>/disclosures/",
        survivor_rights.DisclosureReportView.as_view(),
        name="survivor-disclosures",
    ),
    path("events/", events.EventListView.as_view(), name="event-list"),
    path("reports/referrals/", reports.ReferralReportView.as_view(), name="referral-report"),
]
