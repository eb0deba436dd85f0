from django.urls import path

from agencies.web import auth, members

urlpatterns = [
    path("", auth.home, name="home"),
    path("accounts/login/", auth.login_view, name="login"),
    path("accounts/logout/", auth.logout_view, name="logout"),
    # agency admin
    path("members/", members.members, name="members"),
    path("members/<int:member_id>/role/", members.member_role, name="member-role"),
    path(
        "members/<int:member_id>/deactivate/", members.member_deactivate, name="member-deactivate"
    ),
    path("members/<int:member_id>/unlock/", members.member_unlock, name="member-unlock"),
]
