"""The referral workflow API's routes, declared beside their views with ``@route``
(``agencies/routes.py``)."""

from agencies.routes import routes_of
from coordination.api import emergency, events, reports, survivor_rights, views

urlpatterns = routes_of(views, emergency, survivor_rights, events, reports)
