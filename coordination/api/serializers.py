"""What the referral API accepts: the input rules of ``consent.inputs`` and
``coordination.inputs``, as serializers. What it answers is built by
``coordination.presenters`` and described in ``coordination.api.schema``."""

from __future__ import annotations

from consent import inputs as consent_inputs
from coordination import inputs
from coordination.api.fields import RuleSerializer


class SurvivorInputSerializer(RuleSerializer, rules=consent_inputs.SURVIVOR):
    """A survivor profile (PATCH: any subset). At least one name is required."""

    refuse_unknown = True  # a misspelt field of a profile must not vanish unnoticed


class ConsentInputSerializer(RuleSerializer, rules=consent_inputs.CONSENT):
    """A consent record. Times carry their UTC offset; ``expires_at`` is at most
    ``CONSENT_MAX_DAYS`` after ``valid_from``."""


class RevokeInputSerializer(RuleSerializer, rules=consent_inputs.REVOCATION):
    """A revocation: why, and how the survivor said so."""


class ErasureInputSerializer(RuleSerializer, rules=consent_inputs.ERASURE):
    """An erasure of a survivor's PII: why, as a code (no free text: it is audited)."""


class ReferralInputSerializer(RuleSerializer, rules=inputs.REFERRAL):
    """A referral of one of the caller's agency's survivors to agencies accepting
    referrals."""


class TransitionInputSerializer(RuleSerializer, rules=inputs.TRANSITION):
    """An action on a referral, with the ``reason`` or ``outcome`` the action needs."""


class NoteInputSerializer(RuleSerializer, rules=inputs.NOTE):
    """A case note."""


class EmergencyAccessInputSerializer(RuleSerializer, rules=inputs.EMERGENCY_ACCESS):
    """Break-glass: why (``reason_code``, a ``justification`` of at least 20 characters,
    encrypted) and which recipient categories to open."""


class EmergencyReviewInputSerializer(RuleSerializer, rules=inputs.EMERGENCY_REVIEW):
    """A compliance officer's review of one emergency access."""
