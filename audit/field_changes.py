"""Who and where for django-auditlog's field diffs, from our request context.

auditlog's own middleware reads ``request.user`` before DRF has authenticated a
token (the actor would be empty for API calls) and believes any X-Forwarded-For.
Instead each ``LogEntry`` is stamped here as it is saved: the request's user (read
late, after DRF set it), the client address as ``audit.context`` resolved it, and
our request id as auditlog's correlation id (``AUDITLOG_CID_GETTER``), which ties a
field diff to the ``AuditEntry`` of the same request.
"""

from __future__ import annotations

from audit import context


def stamp_from_request(sender, instance, **kwargs) -> None:
    request = context.state().request
    user = getattr(request, "user", None) if request is not None else None
    if instance.actor_id is None and user is not None and user.is_authenticated:
        instance.actor = user
        instance.actor_email = None  # an e-mail address is not needed to name the actor
    if instance.remote_addr is None:
        instance.remote_addr = context.current().client_ip
    if not instance.cid:
        instance.cid = context.current_request_id()
