"""What the referral API accepts: the input rules of ``consent.inputs`` and
``coordination.inputs``, as serializers. What it answers is built by
``coordination.presenters`` and described in ``coordination.api.schema``."""

from __future__ import annotations

from consent import inputs as consent_inputs
from coordination import inputs
from coordination.api.fields import RuleSerializer


class SurvivorInputSerializer(RuleSerializer):
    rules = consent_inputs.SURVIVOR
    refuse_unknown = True  # a misspelt field of a profile must not vanish unnoticed


class ConsentInputSerializer(RuleSerializer):
    rules = consent_inputs.CONSENT


class RevokeInputSerializer(RuleSerializer):
    rules = consent_inputs.REVOCATION


class ReferralInputSerializer(RuleSerializer):
    rules = inputs.REFERRAL


class TransitionInputSerializer(RuleSerializer):
    rules = inputs.TRANSITION


class NoteInputSerializer(RuleSerializer):
    rules = inputs.NOTE
