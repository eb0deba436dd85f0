from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agencies.admin import site as compliance_admin
from coordination import health

api_v1 = [
    path("", include("agencies.api.urls")),
    path("", include("coordination.api.urls")),
    path("", include("audit.api.urls")),
]

urlpatterns = [
    path("admin/", compliance_admin.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Server-rendered pages for agency staff (coordination/web/).
    path("", include("coordination.web.urls")),
]

handler400 = "coordination.errors.handler400"
handler403 = "coordination.errors.handler403"
handler404 = "coordination.errors.handler404"
handler500 = "coordination.errors.handler500"
