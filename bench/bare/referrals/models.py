import uuid

from django.conf import settings
from django.db import models


class Survivor(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ref = models.CharField(max_length=16, unique=True)
    given_name = models.CharField(max_length=200)
    family_name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    preferred_language = models.CharField(max_length=35, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.ref


class Referral(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survivor = models.ForeignKey(Survivor, on_delete=models.PROTECT, related_name="referrals")
    needs = models.CharField(max_length=200)
    urgency = models.CharField(max_length=16)
    narrative = models.TextField(blank=True)
    status = models.CharField(max_length=32, default="requested")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return str(self.id)


class Note(models.Model):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"note {self.pk}"
