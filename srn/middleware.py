"""Response headers every page carries."""

from __future__ import annotations

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    """Every HTML response — pages, their error pages, Django's own — loads only this
    origin's static files and talks only to this origin (``CONTENT_SECURITY_POLICY``):
    an injected script or form target would be refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
