from rest_framework import serializers

from bench.bare.referrals.models import Note, Referral, Survivor


class SurvivorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Survivor
        fields = ["id", "ref", "given_name", "family_name", "phone", "preferred_language"]


class ReferralSerializer(serializers.ModelSerializer):
    survivor = SurvivorSerializer(read_only=True)

    class Meta:
        model = Referral
        fields = ["id", "survivor", "needs", "urgency", "narrative", "status", "created_at"]


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "referral", "author", "text", "created_at"]
        read_only_fields = ["referral", "author"]
