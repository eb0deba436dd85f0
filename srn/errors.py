"""One map from errors to HTTP: every error is JSON ``{"code", "detail"}``.

Validation errors add ``"fields"``. Never an HTML page, never a stack trace, in any
profile. Domain details never carry survivor data; field messages may name the
caller's own submitted value back to that caller, never to anyone else.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from agencies.errors import (
    Conflict,
    DomainError,
    Erased,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    TooManyAttempts,
    Unauthenticated,
)
from agencies.selectors import membership_for
from audit.denials import REFUSAL_STATUSES, record_denial
from audit.recorder import Actor
from coordination.api.idempotency import IdempotencyKeyReused, InvalidIdempotencyKey
from coordination.fhir.outcomes import outcome_http_response
from srn.parsers import RequestTooLarge

logger = logging.getLogger("srn.errors")

# Domain error class -> HTTP status. Subclasses inherit their parent's status.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    Erased: status.HTTP_410_GONE,
    InvalidInput: status.HTTP_400_BAD_REQUEST,
    Unauthenticated: status.HTTP_401_UNAUTHORIZED,
    IdempotencyKeyReused: status.HTTP_422_UNPROCESSABLE_ENTITY,
    InvalidIdempotencyKey: status.HTTP_400_BAD_REQUEST,
    PreconditionFailed: status.HTTP_412_PRECONDITION_FAILED,
    TooManyAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
}


def status_for(error: DomainError) -> int:
    for klass in type(error).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return status.HTTP_400_BAD_REQUEST


def _body(code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


def _flatten(detail) -> dict | list | str:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _actor_for(request) -> Actor | None:
    """Who was refused: their membership, else the bare user, else nobody."""
    member = getattr(request, "member", None)
    # A DRF request keeps its authenticated user in ``_user``; reading ``user`` before
    # authentication ran would authenticate again, inside an error handler.
    user = getattr(request, "_user", None) if hasattr(request, "_request") else None
    if user is None and not hasattr(request, "_request"):
        user = getattr(request, "user", None)
    if (user is None or not user.is_authenticated) and hasattr(
        getattr(request, "_request", None), "session"
    ):
        # DRF drops the session user when it refuses the request (a CSRF failure):
        # the signed-in user is still who made it.
        user = get_user(request._request)
    member = member or membership_for(user)
    if member is not None:
        return member.as_actor()
    if user is not None and user.is_authenticated:
        return Actor(user_id=user.pk, username=user.get_username())
    return None


def _audit_refusal(request, response_status: int, code: str) -> None:
    if request is None or response_status not in REFUSAL_STATUSES:
        return
    http_request = getattr(request, "_request", request)
    record_denial(
        actor=_actor_for(request), code=code, status=response_status, request=http_request
    )


def api_exception_handler(exc, context):
    response = _api_error_response(exc, context)
    _audit_refusal(context.get("request"), response.status_code, response.data.get("code", ""))
    return response


def _api_error_response(exc, context):
    if isinstance(exc, DomainError):
        response = Response(_body(exc.code, exc.detail, exc.fields), status=status_for(exc))
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, RequestDataTooBig):  # Django's own limit, met reading the body
        exc = RequestTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        logger.exception(
            "unhandled error, request %s",
            getattr(getattr(request, "audit_context", None), "request_id", "-"),
        )
        return Response(
            _body("server_error", "The server could not complete the request."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        response.data = _body("invalid", "Some fields are invalid.", fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = _body(code, str(exc.detail))
    return response


# --- Django-level handlers (non-API paths, CSRF failures, crashes) -------------------


def json_error(http_status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(_body(code, detail), status=http_status)


def _fhir(request) -> bool:
    """The FHIR face answers every error, even one met before its views, in FHIR."""
    return request is not None and request.path.startswith("/fhir/")


def _wants_page(request) -> bool:
    """A browser on a web page (not the API) gets an HTML page; everyone else JSON."""
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def error_response(request, http_status: int, code: str, detail: str, page_detail: str = ""):
    if _fhir(request):
        return outcome_http_response(http_status, code, detail)
    if _wants_page(request):
        context = {"code": code, "detail": page_detail or detail}
        try:
            return render(request, "web/error.html", context, status=http_status)
        except Exception:  # an error page must never fail: fall back to JSON
            logger.exception("error page for %s could not be rendered", code)
    return json_error(http_status, code, detail)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return error_response(
            request, 413, RequestTooLarge.default_code, str(RequestTooLarge.default_detail)
        )
    return error_response(request, 400, "bad_request", "The request was malformed.")


def handler403(request, exception=None):
    _audit_refusal(request, 403, "permission_denied")
    return error_response(
        request, 403, "permission_denied", "You do not have permission to do this."
    )


def handler404(request, exception=None):
    # A URL that matches no route is not about anything: only a matched route's
    # "not found" (a hidden or missing object) is a refusal.
    if getattr(request, "resolver_match", None) is not None:
        _audit_refusal(request, 404, "not_found")
    return error_response(request, 404, "not_found", "Not found.")


def handler500(request):
    if _fhir(request):
        return outcome_http_response(
            500, "server_error", "The server could not complete the request."
        )
    return json_error(500, "server_error", "The server could not complete the request.")


def csrf_failure(request, reason=""):
    _audit_refusal(request, 403, "csrf_failed")
    return error_response(
        request,
        403,
        "csrf_failed",
        "CSRF verification failed.",
        page_detail="This form could not be accepted (it expired or came from another "
        "site). Go back, reload the page and try again.",
    )


class DomainErrorPageMiddleware:
    """A domain error raised by a web page (its gate, services or selectors) renders as
    an HTML page with the status the API would give; a refusal leaves the request's one
    ``denied`` entry, as the API's handler writes it. API views never get here: DRF's
    handler (``api_exception_handler``) answers their errors first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        http_status = status_for(exception)
        _audit_refusal(request, http_status, exception.code)
        response = render(
            request,
            "web/error.html",
            {"code": exception.code, "detail": exception.detail},
            status=http_status,
        )
        add_never_cache_headers(response)
        return response
