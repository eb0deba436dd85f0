from django.urls import path

from coordination.web import disclosures, emergency, liaison, referrals, reports

urlpatterns = [
    # liaison
    path("survivors/", liaison.survivors, name="survivors"),
    path("survivors/<uuid:survivor_id>/", liaison.survivor, name="survivor"),
    path("survivors/<uuid:survivor_id>/consents/", liaison.consents, name="consents"),
    path(
        "survivors/<uuid:survivor_id>/disclosures/",
        disclosures.disclosure_report,
        name="disclosure-report",
    ),
    path("consents/<uuid:consent_id>/revoke/", liaison.consent_revocation, name="consent-revoke"),
    path("referrals/new/", liaison.referral_new, name="referral-new"),
    path("referrals/outgoing/", referrals.outgoing, name="outgoing"),
    path("referrals/outgoing/table/", referrals.outgoing_table, name="outgoing-table"),
    # caseworker
    path("inbox/", referrals.inbox, name="inbox"),
    path("inbox/table/", referrals.inbox_table, name="inbox-table"),
    path(
        "referrals/<uuid:referral_id>/emergency-access/",
        emergency.emergency_access,
        name="emergency-access",
    ),
    path(
        "referrals/<uuid:referral_id>/emergency-access/open/",
        emergency.emergency_access_open,
        name="emergency-access-open",
    ),
    # compliance officer
    path("emergency-access/", emergency.emergency_reviews, name="emergency-reviews"),
    path(
        "emergency-access/<uuid:access_id>/review/",
        emergency.emergency_review,
        name="emergency-review",
    ),
    # both
    path("referrals/<uuid:referral_id>/", referrals.referral, name="referral"),
    path(
        "referrals/<uuid:referral_id>/transition/",
        referrals.referral_transition,
        name="referral-transition",
    ),
    path("referrals/<uuid:referral_id>/notes/", referrals.referral_note, name="referral-note"),
    # network admins, agency admins
    path("reports/", reports.referral_report, name="reports"),
]
