from django.http import HttpResponse
from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from bench.bare.referrals import views


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("api/auth/token/", obtain_auth_token, name="auth-token"),
    path("api/referrals/<uuid:referral_id>/", views.ReferralDetail.as_view()),
    path("api/referrals/<uuid:referral_id>/notes/", views.NoteCreate.as_view()),
    path("healthz", healthz),
]
