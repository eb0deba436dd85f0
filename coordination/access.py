"""THE access rule. Everything that discloses referral or survivor data asks this package.

A member of agency A may see field F of referral R iff
* A is R's referring agency, or
* A is a recipient of R and an active consent (valid now, not revoked, not expired)
  for R's survivor names A and F's category, or
* A is a recipient of R, the member is a caseworker of A, and an active emergency
  access (break-glass) of *that member* opened F's category — never when the survivor
  refused emergency access, nor while the network has switched it off.

The way back is consented too: the referrer sees a recipient's status beyond
``requested`` only under that recipient's ``status_updates``, and its case notes only
under ``case_notes``.

Within an agency, each side has its role (DESIGN.md, Users and roles): liaisons handle
the agency's outgoing referrals, caseworkers its incoming ones. Given the member's
``role``, every function here shows a member only their side; given the member
(``member_id``), their own emergency accesses.

It is composed from consent's facts (``consent.grants``) and emergency access's
(``coordination.emergency``) and decided once per request: ``decide`` returns a
``Decision`` that the presenter, the ETag, the notes, the audit entry and the event
stream all read. Nothing here writes; selectors audit the decision.

``coordination.access_rule`` holds the releases and the decision (made on the facts
``coordination.access_facts`` fetches in one query), ``coordination.access_querysets``
the rule as querysets, and ``coordination.access_events`` applies it to live events.
Import this module.
"""

from coordination.access_events import deliverable_events, event_audience, event_deliverable
from coordination.access_querysets import (
    in_direction,
    report_statuses,
    visible_referrals,
    with_status,
)
from coordination.access_rule import (
    ALWAYS_VISIBLE_STATUSES,
    HIDDEN,
    INCOMING,
    NONE,
    OUTGOING,
    RECIPIENT,
    REFERRER,
    REFERRER_FILTERABLE_STATUSES,
    SIDE_OF_ROLE,
    BackRelease,
    Decision,
    Release,
    back_releases,
    back_releases_many,
    decide,
    decide_one,
    release,
    releases,
    status_seen_by_referrer,
)
from coordination.emergency import ANY_MEMBER

__all__ = [
    "ALWAYS_VISIBLE_STATUSES",
    "ANY_MEMBER",
    "HIDDEN",
    "INCOMING",
    "NONE",
    "OUTGOING",
    "RECIPIENT",
    "REFERRER",
    "REFERRER_FILTERABLE_STATUSES",
    "SIDE_OF_ROLE",
    "BackRelease",
    "Decision",
    "Release",
    "back_releases",
    "back_releases_many",
    "decide",
    "decide_one",
    "deliverable_events",
    "event_audience",
    "event_deliverable",
    "in_direction",
    "release",
    "releases",
    "report_statuses",
    "status_seen_by_referrer",
    "visible_referrals",
    "with_status",
]
