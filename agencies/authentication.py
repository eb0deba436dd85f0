"""API token authentication: django-rest-knox's hashed, expiring tokens, without the
per-request sweep of the user's other tokens.

knox's ``TokenAuthentication`` reads every other token of the user on each request to
delete the expired ones: one query more on every API call. Here a request checks only
its own token (an expired one is deleted and refused, as knox does), and a user's
expired tokens are swept when a new one is issued (``agencies.services.token_issue``).
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.signals import token_expired


class OwnTokenAuthentication(TokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class OwnTokenScheme(KnoxTokenScheme):
    """The OpenAPI description of the token scheme: knox's, under our class."""

    target_class = OwnTokenAuthentication
