from django.urls import path

from coordination.web import auth, compliance, liaison, members, referrals

app_name = "web"

urlpatterns = [
    path("", auth.home, name="home"),
    path("accounts/login/", auth.login_view, name="login"),
    path("accounts/logout/", auth.logout_view, name="logout"),
    # liaison
    path("survivors/", liaison.survivors, name="survivors"),
    path("survivors/<uuid:survivor_id>/", liaison.survivor, name="survivor"),
    path("survivors/<uuid:survivor_id>/consents/", liaison.consents, name="consents"),
    path("consents/<uuid:consent_id>/revoke/", liaison.consent_revoke, name="consent-revoke"),
    path("referrals/new/", liaison.referral_new, name="referral-new"),
    path("referrals/outgoing/", referrals.outgoing, name="outgoing"),
    path("referrals/outgoing/table/", referrals.outgoing_table, name="outgoing-table"),
    # caseworker
    path("inbox/", referrals.inbox, name="inbox"),
    path("inbox/table/", referrals.inbox_table, name="inbox-table"),
    # both
    path("referrals/<uuid:referral_id>/", referrals.referral, name="referral"),
    path(
        "referrals/<uuid:referral_id>/transition/",
        referrals.referral_transition,
        name="referral-transition",
    ),
    path("referrals/<uuid:referral_id>/notes/", referrals.referral_note, name="referral-note"),
    # compliance officer
    path("audit/", compliance.audit_search, name="audit"),
    path("audit/verify/", compliance.audit_verify, name="audit-verify"),
    path("audit/ledger/", compliance.audit_ledger, name="audit-ledger"),
    # agency admin
    path("members/", members.members, name="members"),
    path("members/<int:member_id>/role/", members.member_role, name="member-role"),
    path(
        "members/<int:member_id>/deactivate/", members.member_deactivate, name="member-deactivate"
    ),
]
