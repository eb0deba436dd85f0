"""Agency admin forms: they parse what a browser sends; the rules stay in
``agencies.services``, whose ``InvalidInput`` the pages put back on these forms."""

from __future__ import annotations

from django import forms

from agencies.models import Role

ROLE_CHOICES = Role.choices


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(
        max_length=128, strip=False, widget=forms.PasswordInput, help_text="At least 12 characters."
    )
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
