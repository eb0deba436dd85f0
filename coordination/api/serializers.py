"""Input shapes and redacted output. Field visibility comes from ``consent.policy``
releases and the one field->category map; no view decides it."""

from __future__ import annotations

from rest_framework import serializers

from agencies.models import Need
from consent import policy
from consent.categories import ALL_CATEGORIES, SURVIVOR_PII_FIELDS
from consent.models import Method, Purpose, RevocationChannel, SignedBy
from coordination import states
from coordination.models import Urgency

SURVIVOR_PII = SURVIVOR_PII_FIELDS


class SurvivorInputSerializer(serializers.Serializer):
    given_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    family_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    safe_contact_instructions = serializers.CharField(
        max_length=2000, required=False, allow_blank=True
    )
    address = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    nationality = serializers.CharField(max_length=100, required=False, allow_blank=True)
    immigration_status = serializers.CharField(max_length=200, required=False, allow_blank=True)
    preferred_language = serializers.CharField(max_length=35, required=False, allow_blank=True)

    def to_internal_value(self, data):
        unknown = set(data) - set(self.fields) if isinstance(data, dict) else set()
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        values = super().to_internal_value(data)
        if values.get("date_of_birth") is not None:
            values["date_of_birth"] = values["date_of_birth"].isoformat()
        return values


def survivor_data(survivor, fields=SURVIVOR_PII) -> dict:
    """The survivor as the caller may see it: ``fields`` are the released PII names."""
    data = {
        "id": str(survivor.id),
        "ref": survivor.ref,
        "preferred_language": survivor.preferred_language,
    }
    for name in SURVIVOR_PII:
        if name in fields:
            data[name] = getattr(survivor, name) or None
    return data


class SurvivorOutputSerializer(serializers.BaseSerializer):
    def to_representation(self, survivor):
        data = survivor_data(survivor)
        data.update(version=survivor.version, created_at=survivor.created_at.isoformat())
        return data


class ConsentInputSerializer(serializers.Serializer):
    survivor = serializers.UUIDField()
    recipients = serializers.ListField(child=serializers.IntegerField(), max_length=50)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(ALL_CATEGORIES)), max_length=20
    )
    purpose = serializers.ChoiceField(choices=Purpose.choices, default=Purpose.SERVICE_REFERRAL)
    method = serializers.ChoiceField(choices=Method.choices)
    evidence_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
    language = serializers.CharField(max_length=35)
    interpreter_used = serializers.BooleanField()
    notice_version = serializers.CharField(max_length=32)
    services_not_conditional = serializers.BooleanField()
    signed_by = serializers.ChoiceField(choices=SignedBy.choices)
    guardian_not_alleged_trafficker = serializers.BooleanField(default=False)
    valid_from = serializers.DateTimeField(required=False)
    expires_at = serializers.DateTimeField()


class ConsentOutputSerializer(serializers.BaseSerializer):
    def to_representation(self, consent):
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
        }


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    channel = serializers.ChoiceField(choices=RevocationChannel.choices)


class ReferralInputSerializer(serializers.Serializer):
    survivor = serializers.UUIDField()
    recipients = serializers.ListField(child=serializers.IntegerField(), max_length=50)
    needs = serializers.ListField(
        child=serializers.ChoiceField(choices=Need.choices), max_length=20
    )
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=35, required=False, allow_blank=True, default="")
    narrative = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, default=""
    )


class TransitionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=states.USER_ACTIONS)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    outcome = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoteInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class ReferralOutputSerializer(serializers.BaseSerializer):
    """Context: ``member``, ``releases`` {id: Release}, ``backs`` {id: {agency: BackRelease}}."""

    def to_representation(self, referral):
        member = self.context["member"]
        release = self.context["releases"][referral.id]
        recipients = list(referral.recipients.all())
        if release.relation == policy.REFERRER:
            back = self.context["backs"][referral.id]
            shown = [
                {
                    "agency": r.agency_id,
                    "status": policy.status_seen_by_referrer(r.status, back.get(r.agency_id)),
                }
                for r in recipients
            ]
        else:  # a recipient sees its own status only, not who else was asked
            shown = [
                {"agency": r.agency_id, "status": r.status}
                for r in recipients
                if r.agency_id == member.agency_id
            ]
        fields = release.fields()
        data = {
            "id": str(referral.id),
            "survivor": survivor_data(referral.survivor, fields),
            "referring_agency": referral.referring_agency_id,
            "recipients": shown,
            "needs": referral.needs,
            "urgency": referral.urgency,
            "region": referral.region,
            "language": referral.language,
            "created_at": referral.created_at.isoformat(),
            "direction": "outgoing" if release.relation == policy.REFERRER else "incoming",
            "released_categories": sorted(release.categories),
        }
        if "narrative" in fields:
            data["narrative"] = referral.narrative or None
        return data


def referrals_data(member, referrals) -> tuple[list[dict], dict]:
    """Referrals as ``member`` may see them, and their ``Release`` by id (one query each
    for the releases and the referrer's back-releases, whatever the page size)."""
    releases = policy.releases(member.agency_id, referrals)
    outgoing = [r for r in referrals if releases[r.id].relation == policy.REFERRER]
    backs = policy.back_releases_many(outgoing)
    context = {"member": member, "releases": releases, "backs": backs}
    return [ReferralOutputSerializer(r, context=context).data for r in referrals], releases


def note_data(note) -> dict:
    return {
        "id": str(note.id),
        "author_agency": note.author_agency_id,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }
