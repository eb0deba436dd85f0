"""The referral workflow's pages' routes, declared beside their views with ``@route``
(``agencies/routes.py``): the liaison's, the caseworker's, the compliance officer's,
both, and the admins' report."""

from agencies.routes import routes_of
from coordination.web import disclosures, emergency, liaison, referrals, reports

urlpatterns = routes_of(liaison, disclosures, referrals, emergency, reports)
