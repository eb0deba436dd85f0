from django.urls import path

from agencies.api import network, views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/ws-ticket/", views.WsTicketView.as_view(), name="auth-ws-ticket"),
    path("me/", views.MeView.as_view(), name="me"),
    path("agencies/", network.AgencyListView.as_view(), name="agency-list"),
    path("agencies/<int:agency_id>/", network.AgencyDetailView.as_view(), name="agency-detail"),
    path(
        "agencies/<int:agency_id>/suspend/",
        network.AgencySuspendView.as_view(),
        name="agency-suspend",
    ),
    path(
        "agencies/<int:agency_id>/reinstate/",
        network.AgencyReinstateView.as_view(),
        name="agency-reinstate",
    ),
    path("invitations/", network.InvitationListView.as_view(), name="invitation-list"),
    path("invitations/accept/", network.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("password-reset/", network.PasswordResetView.as_view(), name="password-reset"),
    path("members/", views.MemberListView.as_view(), name="member-list"),
    path("members/<int:member_id>/", views.MemberDetailView.as_view(), name="member-detail"),
    path(
        "members/<int:member_id>/deactivate/",
        views.MemberDeactivateView.as_view(),
        name="member-deactivate",
    ),
    path("members/<int:member_id>/unlock/", views.MemberUnlockView.as_view(), name="member-unlock"),
    path(
        "members/<int:member_id>/mfa-reset/",
        views.MemberMfaResetView.as_view(),
        name="member-mfa-reset",
    ),
]
