"""API token authentication: django-rest-knox's hashed, expiring tokens, without the
per-request sweep of the user's other tokens.

knox's ``TokenAuthentication`` reads every other token of the user on each request to
delete the expired ones: one query more on every API call. Here a request checks only
its own token (an expired one is deleted and refused, as knox does), and a user's
expired tokens are swept when a new one is issued (``agencies.services.token_issue``).
The token's lookup also joins the user's membership and its agency, which every API
view needs next (``agencies.selectors.membership_for`` reads them from the user):
one query per request for token, user and membership.
"""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed

from srn.prepared import prepared


class OwnTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        """knox's check of a token (same digest comparison, expiry and refresh), with
        the membership joined to the token's user."""
        token = token.decode("utf-8")
        for auth_token in _tokens_keyed(key=token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error) as error:
                raise AuthenticationFailed("Invalid token.") from error
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise AuthenticationFailed("Invalid token.")

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


@prepared
def _tokens_keyed(*, key: str):
    # Every API request asks this: compiled once (``srn.prepared``).
    return (
        get_token_model()
        .objects.filter(token_key=key)
        .select_related("user", "user__membership__agency")
        .order_by()
    )


class OwnTokenScheme(KnoxTokenScheme):
    """The OpenAPI description of the token scheme: knox's, under our class."""

    target_class = OwnTokenAuthentication
