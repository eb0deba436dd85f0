"""The sign-in, members, invitations and network-admin pages' routes, declared beside
their views with ``@route`` (``agencies/routes.py``)."""

from agencies.routes import routes_of
from agencies.web import auth, invitations, members, mfa, network

urlpatterns = routes_of(auth, mfa, members, invitations, network)
