from django.urls import path

from agencies.api import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/ws-ticket/", views.WsTicketView.as_view(), name="auth-ws-ticket"),
    path("me/", views.MeView.as_view(), name="me"),
    path("agencies/", views.AgencyDirectoryView.as_view(), name="agency-list"),
    path("members/", views.MemberListView.as_view(), name="member-list"),
    path("members/<int:member_id>/", views.MemberDetailView.as_view(), name="member-detail"),
    path(
        "members/<int:member_id>/deactivate/",
        views.MemberDeactivateView.as_view(),
        name="member-deactivate",
    ),
    path("members/<int:member_id>/unlock/", views.MemberUnlockView.as_view(), name="member-unlock"),
]
