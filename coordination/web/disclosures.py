"""The survivor's disclosure report as a printable page, in the survivor's preferred
language (English or Spanish, ``coordination/locale/``), for the owner agency to hand
over. It reads and audits through ``coordination.disclosures``, as the API does."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from agencies.models import Role
from agencies.routes import route
from agencies.web.pages import member_page, paginate
from coordination import disclosures

# What each category means to the survivor, in their words.
CATEGORY_WORDS = {
    "identity": _("your name and date of birth"),
    "contact": _("how to contact you"),
    "location": _("your address"),
    "narrative": _("the account of your situation in the referral"),
    "immigration": _("your nationality and immigration status"),
    "medical": _("your medical information"),
}
# Whole sentences: a translation never glues a reason into another sentence.
REASON_WORDS = {
    "imminent_danger": _(
        "Shared without your consent, in an emergency: you were believed to be in immediate danger."
    ),
    "medical_emergency": _(
        "Shared without your consent, in an emergency: there was a medical emergency."
    ),
    "missing_person": _("Shared without your consent, in an emergency: you were reported missing."),
}
PRINTABLE_PAGE = 1000  # the report is printed whole; longer ones page on


@route("survivors/<uuid:survivor_id>/disclosures/", name="disclosure-report")
@require_safe
@member_page(Role.LIAISON)
def disclosure_report(request, survivor_id):
    """Every time the survivor's data reached another agency, in plain words. Owner
    agency only (others: not found); audited as a ``view`` of ``disclosure_report``."""
    member = request.member
    survivor, lines = disclosures.report_lines(member, survivor_id)
    language = disclosures.report_language(survivor, request.GET.get("language"))
    query = request.GET.copy()
    query.setdefault("page_size", str(PRINTABLE_PAGE))
    request.GET = query
    with transaction.atomic():
        page, following = paginate(request, lines)
        shown = disclosures.report_shown(member, survivor, page)
    rows = [
        {
            **line,
            "what": [CATEGORY_WORDS[name] for name in line["categories"] if name in CATEGORY_WORDS],
            "reasons": [
                REASON_WORDS[found["reason_code"]]
                for found in line["emergency_accesses"]
                if found["reason_code"] in REASON_WORDS
            ],
        }
        for line in shown
    ]
    context = {
        "survivor": survivor,
        "owner": member.agency.name,
        "rows": rows,
        "language": language,
        "following": following,
        "generated_at": timezone.now(),
        "other_language": "es" if language == "en" else "en",
    }
    with translation.override(language):
        return render(request, "web/disclosure_report.html", context)
