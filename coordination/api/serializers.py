"""What the referral API accepts: the input rules of ``consent.inputs`` and
``coordination.inputs``, as serializers. What it answers is built by
``coordination.presenters`` and described in ``coordination.api.schema``."""

from __future__ import annotations

from consent import inputs as consent_inputs
from coordination import inputs
from coordination.api.fields import RuleSerializer


class SurvivorInputSerializer(RuleSerializer):
    """A survivor profile (PATCH: any subset). At least one name is required."""

    rules = consent_inputs.SURVIVOR
    refuse_unknown = True  # a misspelt field of a profile must not vanish unnoticed


class ConsentInputSerializer(RuleSerializer):
    """A consent record. Times carry their UTC offset; ``expires_at`` is at most
    ``CONSENT_MAX_DAYS`` after ``valid_from``."""

    rules = consent_inputs.CONSENT


class RevokeInputSerializer(RuleSerializer):
    """A revocation: why, and how the survivor said so."""

    rules = consent_inputs.REVOCATION


class ErasureInputSerializer(RuleSerializer):
    """An erasure of a survivor's PII: why, as a code (no free text: it is audited)."""

    rules = consent_inputs.ERASURE


class ReferralInputSerializer(RuleSerializer):
    """A referral of one of the caller's agency's survivors to agencies accepting
    referrals."""

    rules = inputs.REFERRAL


class TransitionInputSerializer(RuleSerializer):
    """An action on a referral, with the ``reason`` or ``outcome`` the action needs."""

    rules = inputs.TRANSITION


class NoteInputSerializer(RuleSerializer):
    """A case note."""

    rules = inputs.NOTE


class EmergencyAccessInputSerializer(RuleSerializer):
    """Break-glass: why (``reason_code``, a ``justification`` of at least 20 characters,
    encrypted) and which recipient categories to open."""

    rules = inputs.EMERGENCY_ACCESS


class EmergencyReviewInputSerializer(RuleSerializer):
    """A compliance officer's review of one emergency access."""

    rules = inputs.EMERGENCY_REVIEW
