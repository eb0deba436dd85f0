"""The survivor's rights over REST: their disclosure report, for the owner agency."""

from __future__ import annotations

from django.db import transaction
from rest_framework.generics import GenericAPIView

from agencies.api.operations import operation
from agencies.models import Role
from agencies.permissions import role_required
from agencies.routes import route
from audit.models import Disclosure
from coordination import disclosures
from coordination.api import schema


@route("survivors/<uuid:survivor_id>/disclosures/", name="survivor-disclosures")
class DisclosureReportView(GenericAPIView):
    """Every time the survivor's data reached another agency, oldest first: when, which
    agency, which categories, under which consents or emergency accesses. Owner agency
    only (others: 404, as for a missing survivor); audited as a ``view``."""

    permission_classes = [role_required(Role.LIAISON)]
    queryset = Disclosure.objects.none()  # schema only
    filter_backends = []

    @operation(
        None,
        schema.DisclosureLine(many=True),
        refusals={404: "Not a survivor of the caller's agency."},
        operation_id="survivor_disclosures_list",
    )
    def get(self, request, survivor_id):
        survivor, lines = disclosures.report_lines(request.member, survivor_id)
        with transaction.atomic():
            page = self.paginate_queryset(lines)
            shown = disclosures.report_shown(request.member, survivor, page)
            return self.get_paginated_response(shown)
