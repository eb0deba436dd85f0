"""The email an access alert sends: what fired, for which member (by id) and agency,
and where to review it. No PII: no names, no survivor refs, no free text."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mass_mail

from audit.models import Alert

logger = logging.getLogger(__name__)


def body_of(alert: Alert) -> tuple[str, str]:
    """The subject and text of ``alert``'s email."""
    rule = alert.get_rule_display()
    subject = f"Access alert #{alert.pk}: {rule}"
    text = (
        f"The Safe Referral Network raised access alert #{alert.pk}: {rule}.\n\n"
        f"Member id {alert.actor_user_id} of agency {alert.actor_agency}: "
        f"{alert.count} (threshold {alert.threshold}) "
        f"between {alert.window_start:%Y-%m-%d %H:%M} and {alert.window_end:%H:%M} UTC.\n\n"
        f"Review and acknowledge it here (sign-in required):\n"
        f"{settings.SITE_URL}/audit/alerts/{alert.pk}/\n"
    )
    return subject, text


def send(alert: Alert, recipients: list[str]) -> None:
    """Email ``alert`` to ``recipients`` (after its transaction committed). A mail
    system that fails loses only the email: the alert is stored and shown."""
    if not recipients:
        return
    subject, text = body_of(alert)
    try:
        # One message per recipient: no one learns the others' addresses.
        send_mass_mail([(subject, text, None, [to]) for to in recipients], fail_silently=False)
    except Exception:
        logger.exception("access alert #%s: the email could not be sent", alert.pk)
