"""Access alerts for compliance officers: list, open, acknowledge (API and pages alike).

The alerts are raised by ``audit.alert_watch``. Every read is audited where it is
selected (``list`` or ``view`` of ``alert``), the acknowledgement by its service
(``alert_acknowledge``); the officer's note is stored on the alert, never in the entry
(the trail holds codes only). Only compliance officers; anyone else gets
``PermissionDenied``, and an unknown alert ``Http404`` (each audited by the layer
that answers it).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import APIException

from audit.models import Action, Alert
from audit.recorder import Actor, record
from audit.selectors import require_compliance_officer
from audit.units import unit

NOTE_MAX = 2000


class AlertAlreadyAcknowledged(APIException):
    status_code = 409
    default_code = "already_acknowledged"
    default_detail = "This alert has already been acknowledged."


def alerts(*, actor: Actor) -> QuerySet[Alert]:
    """Every alert, newest first (``-id``); narrowed by ``audit.filters.AlertFilter``;
    not audited until shown (``alerts_shown``)."""
    require_compliance_officer(actor)
    return Alert.objects.order_by("-id")


def alerts_shown(*, actor: Actor, page: Iterable[Alert], filters: dict[str, str]) -> list[Alert]:
    """A page of alerts is shown: one ``list`` entry of ``alert`` with the page's size,
    the filters and the alerts' ids."""
    require_compliance_officer(actor)
    page = list(page)
    record(
        action=Action.LIST,
        actor=actor,
        object_type="alert",
        detail={"count": len(page), "filters": filters, "ids": [alert.pk for alert in page]},
    )
    return page


@transaction.atomic
def alert_shown(*, actor: Actor, alert_id: int) -> Alert:
    """One alert, for review: audits ``view`` of ``alert``."""
    require_compliance_officer(actor)
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        raise Http404
    return _recorded(Action.VIEW, actor, alert, rule=alert.rule)


@unit
def alert_acknowledge(*, actor: Actor, alert_id: int, note: str) -> Alert:
    """A compliance officer acknowledges an alert once, with a note (what was found,
    what was done). Audits ``alert_acknowledge`` of ``alert`` (the rule, not the note);
    a second acknowledgement is refused (409, ``already_acknowledged``)."""
    require_compliance_officer(actor)
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise Http404
    if alert.acknowledged_at is not None:
        raise AlertAlreadyAcknowledged
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by_user_id = actor.user_id
    alert.acknowledged_by_username = actor.username
    alert.note = note
    alert.save(
        update_fields=[
            "acknowledged_at",
            "acknowledged_by_user_id",
            "acknowledged_by_username",
            "note",
        ]
    )
    return _recorded(
        Action.ALERT_ACKNOWLEDGE, actor, alert, rule=alert.rule, member=alert.actor_user_id
    )


def _recorded(action: str, actor: Actor, alert: Alert, **detail) -> Alert:
    """``alert``, once ``action`` on it is on the record (codes only, never the note)."""
    record(action=action, actor=actor, object_type="alert", object_id=alert.pk, detail=detail)
    return alert
