"""Shared by the second-factor tests: a frozen clock that steps on, members with a
confirmed factor, and the code their app would show."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import mfa
from tests.factories import PASSWORD

START = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
STEP = 30  # seconds: one TOTP time step


def code_now(device: TOTPDevice) -> str:
    """What the member's authenticator app shows at this moment."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, 0):0{device.digits}d}"


def frozen_clock():
    """Frozen time that moves only when shifted (TOTP codes change every 30 s)."""
    return time_machine.travel(START, tick=False)


def enrol(member) -> tuple[TOTPDevice, list[str]]:
    """Enrol the member through the services, as the page does."""
    device = mfa.enrolment_start(member=member)
    codes = mfa.enrolment_confirm(member=member, code=code_now(device))
    device.refresh_from_db()
    return device, codes


def password_step(member, client: Client | None = None, **extra):
    client = client or Client()
    response = client.post(
        "/accounts/login/", {"username": member.user.username, "password": PASSWORD}, **extra
    )
    return client, response
