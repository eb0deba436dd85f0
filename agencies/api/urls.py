"""The agencies API's routes, declared beside their views with ``@route``
(``agencies/routes.py``)."""

from agencies.api import network, views
from agencies.routes import routes_of

urlpatterns = routes_of(views, network)
