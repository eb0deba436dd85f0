from django.urls import path

from agencies.web import auth, invitations, members, mfa, network

urlpatterns = [
    path("", auth.home, name="home"),
    path("accounts/login/", auth.login_view, name="login"),
    path("accounts/login/code/", mfa.code, name="login-code"),
    path("accounts/mfa/", mfa.enrol, name="mfa-enrol"),
    path("accounts/logout/", auth.logout_view, name="logout"),
    # agency admin
    path("members/", members.members, name="members"),
    path("members/<int:member_id>/role/", members.member_role, name="member-role"),
    path(
        "members/<int:member_id>/deactivate/", members.member_deactivate, name="member-deactivate"
    ),
    path("members/<int:member_id>/unlock/", members.member_unlock, name="member-unlock"),
    path("members/<int:member_id>/mfa-reset/", members.member_mfa_reset, name="member-mfa-reset"),
    # invitations and password resets (anonymous: the link is the credential)
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path("accounts/password-reset/", invitations.password_reset, name="password-reset"),
    path("invite/", network.invitation_new, name="invitation-new"),
    path("agency/profile/", network.profile, name="agency-profile"),
    # network admin
    path("network/agencies/", network.agencies, name="network-agencies"),
    path("network/agencies/<int:agency_id>/", network.agency, name="network-agency"),
    path(
        "network/agencies/<int:agency_id>/admins/",
        network.agency_admins,
        name="network-agency-admins",
    ),
    path(
        "network/agencies/<int:agency_id>/suspend/",
        network.agency_suspend,
        name="network-agency-suspend",
    ),
    path(
        "network/agencies/<int:agency_id>/reinstate/",
        network.agency_reinstate,
        name="network-agency-reinstate",
    ),
]
