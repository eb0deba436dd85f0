from rest_framework.throttling import SimpleRateThrottle

from audit import context


class ClientAddressThrottle(SimpleRateThrottle):
    """Rate per client address, as resolved by the audit context.

    DRF's own ``get_ident`` believes any X-Forwarded-For; ours believes it only from a
    configured proxy.
    """

    def get_cache_key(self, request, view):
        address = context.current().client_ip or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": address}


class TokenThrottle(ClientAddressThrottle):
    scope = "auth_token"


class WsTicketThrottle(ClientAddressThrottle):
    scope = "ws_ticket"
