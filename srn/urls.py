"""The project's routes: each app's API under ``/api/v1/``, each app's pages in the one
``web`` namespace, the schema and its docs, health checks and the compliance admin."""

from django.urls import include, path
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agencies.admin import site as compliance_admin
from agencies.models import Role
from agencies.web import urls as agency_pages
from agencies.web.pages import member_page
from audit.web import urls as audit_pages
from coordination.web import urls as referral_pages
from srn import health, oversight

api_v1 = [
    path("", include("agencies.api.urls")),
    path("", include("coordination.api.urls")),
    path("", include("audit.api.urls")),
]

# Server-rendered pages for agency staff: sign-in and members (agencies/web/), the
# referral workflow (coordination/web/), the compliance pages (audit/web/).
pages = [
    *agency_pages.urlpatterns,
    *referral_pages.urlpatterns,
    *audit_pages.urlpatterns_behind(member_page(Role.COMPLIANCE_OFFICER)),
    # The compliance dashboard composes audit's and consent's figures (srn/oversight.py).
    path(
        "audit/dashboard/",
        require_safe(member_page(Role.COMPLIANCE_OFFICER)(oversight.compliance_dashboard)),
        name="audit-dashboard",
    ),
]

urlpatterns = [
    path("admin/", compliance_admin.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("fhir/R4/", include("coordination.fhir.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include((pages, "web"))),
]

handler400 = "srn.errors.handler400"
handler403 = "srn.errors.handler403"
handler404 = "srn.errors.handler404"
handler500 = "srn.errors.handler500"
