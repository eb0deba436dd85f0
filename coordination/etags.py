"""ETags of a referral as one member sees it.

A recipient's tag follows its own status version. The referrer's follows only what
it is shown (statuses masked by consent), so a hidden change never shows up as a
changed tag.
"""

from __future__ import annotations

import hashlib
import json

from consent import policy
from coordination.models import RecipientStatus


def referral_etag(referral, agency_id: int) -> str:
    release = policy.release(agency_id, referral)
    recipients = RecipientStatus.objects.filter(referral_id=referral.id).order_by("agency_id")
    if release.relation == policy.REFERRER:
        backs = policy.back_releases(referral)
        seen = [
            [r.agency_id, policy.status_seen_by_referrer(r.status, backs.get(r.agency_id))]
            for r in recipients
        ]
    else:
        seen = [[r.agency_id, r.status, r.version] for r in recipients if r.agency_id == agency_id]
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:20]
