"""What a member is shown of a referral, a survivor, a consent or a note: built in one
place from the request's access ``Decision`` (``coordination.access``), and used alike
by the API (as JSON) and the pages (as template context). Nothing here decides access.
"""

from __future__ import annotations

from consent.categories import SURVIVOR_PII_FIELDS
from coordination import access


def survivor_shown(survivor, fields=SURVIVOR_PII_FIELDS) -> dict:
    """The survivor as the caller may see it: ``fields`` are the released PII names."""
    data = {
        "id": str(survivor.id),
        "ref": survivor.ref,
        "preferred_language": survivor.preferred_language,
    }
    for name in SURVIVOR_PII_FIELDS:
        if name in fields:
            data[name] = getattr(survivor, name) or None
    return data


def survivor_profile(survivor) -> dict:
    """The owner agency's view of its own survivor's profile (every field)."""
    return {
        **survivor_shown(survivor),
        "version": survivor.version,
        "created_at": survivor.created_at.isoformat(),
    }


def survivor_erased(survivor) -> dict:
    return {
        "id": str(survivor.id),
        "ref": survivor.ref,
        "erased_at": survivor.erased_at.isoformat(),
    }


def referral_shown(referral, decision: access.Decision) -> dict:
    """One referral as the decision releases it: only released survivor fields, the
    narrative only under ``narrative``, and only the recipient statuses it may see."""
    release = decision.release(referral)
    fields = release.fields()
    data = {
        "id": str(referral.id),
        "survivor": survivor_shown(referral.survivor, fields),
        "referring_agency": referral.referring_agency_id,
        "recipients": [
            {"agency": agency, "status": status}
            for agency, status, _ in decision.recipients_shown(referral)
        ],
        "needs": referral.needs,
        "urgency": referral.urgency,
        "region": referral.region,
        "language": referral.language,
        "created_at": referral.created_at.isoformat(),
        "direction": access.OUTGOING if release.relation == access.REFERRER else access.INCOMING,
        "released_categories": sorted(release.categories),
        "emergency_categories": sorted(release.emergency_categories),
    }
    if "narrative" in fields:
        data["narrative"] = referral.narrative or None
    return data


def referrals_shown(referrals, decision: access.Decision) -> list[dict]:
    return [referral_shown(referral, decision) for referral in referrals]


def note_shown(note) -> dict:
    return {
        "id": str(note.id),
        "author_agency": note.author_agency_id,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }


def consent_shown(consent) -> dict:
    """A consent record, to the liaisons of the agency that recorded it."""
    revocation = getattr(consent, "revocation", None)
    return {
        "id": str(consent.id),
        "survivor": str(consent.survivor_id),
        "survivor_ref": consent.survivor.ref,
        "recipients": sorted(a.id for a in consent.recipients.all()),
        "categories": consent.categories,
        "purpose": consent.purpose,
        "method": consent.method,
        "evidence_sha256": consent.evidence_sha256,
        "language": consent.language,
        "interpreter_used": consent.interpreter_used,
        "notice_version": consent.notice_version,
        "services_not_conditional": consent.services_not_conditional,
        "signed_by": consent.signed_by,
        "guardian_not_alleged_trafficker": consent.guardian_not_alleged_trafficker,
        "valid_from": consent.valid_from.isoformat(),
        "expires_at": consent.expires_at.isoformat(),
        "recorded_at": consent.recorded_at.isoformat(),
        "revoked_at": revocation.revoked_at.isoformat() if revocation else None,
        "revocation_channel": revocation.channel if revocation else None,
        "no_emergency_access": revocation.no_emergency_access if revocation else False,
    }


def emergency_access_shown(found) -> dict:
    """An emergency access, to the member who opened it and to compliance officers
    (who review it, justification included). No survivor PII: the ``ref`` only."""
    reviewer = found.reviewed_by
    return {
        "id": str(found.id),
        "referral": str(found.referral_id),
        "survivor_ref": found.referral.survivor.ref,
        "agency": found.agency_id,
        "member": found.member.user.get_username(),
        "categories": sorted(found.categories),
        "reason_code": found.reason_code,
        "justification": found.justification,
        "opened_at": found.opened_at.isoformat(),
        "expires_at": found.expires_at.isoformat(),
        "review_status": found.review_status,
        "review_note": found.review_note or None,
        "reviewed_by": reviewer.get_username() if reviewer else None,
        "reviewed_at": found.reviewed_at.isoformat() if found.reviewed_at else None,
    }
