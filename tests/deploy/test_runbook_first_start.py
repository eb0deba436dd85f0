"""deploy/RUNBOOK.md "First start", followed literally on the production profile.

The section's fenced commands are read from the RUNBOOK and run as written, with only
the environment substituted: ``srn-manage`` is the script in deploy/systemd, which runs
the venv's ``django-admin`` with the settings module and data dir it sets, and here the
test database instead of /etc/srn/srn.env. Then the printed link is followed as the
first network admin would follow it (password, second factor from the page's key), and
the steps the section numbers are taken through the endpoints it names, up to a member
of the new agency reading a consented referral. Each step's audit entry is checked.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from base64 import b32decode
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp

from agencies.models import Agency, Membership, Role
from audit.models import AuditEntry
from consent import services as consent_services
from coordination import services
from tests import processes
from tests.coordination.live_helpers import consent_fields
from tests.deploy.envfiles import DEPLOY
from tests.factories import AgencyFactory, MemberFactory

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

RUNBOOK = (DEPLOY / "RUNBOOK.md").read_text()
PASSWORD = "a-long-and-unusual-password-7"
ID = re.compile(r"/\d+/")
LINK = re.compile(r"https?://[^\s/]+/invitations/([A-Za-z0-9_-]+)/")


def first_start_section() -> str:
    start = RUNBOOK.index("## First start")
    return RUNBOOK[start : RUNBOOK.index("\n## ", start + 1)]


def section_commands(section: str) -> list[str]:
    """The shell commands of the section's fenced blocks: continuations joined,
    comments dropped."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        joined = block.replace("\\\n", " ")
        commands += [line.strip() for line in joined.splitlines() if line.strip()]
    return [command for command in commands if not command.startswith("#")]


def srn_manage(data_dir: Path, database_url: str) -> tuple[list[str], dict[str, str]]:
    """What ``srn-manage`` runs, and with which environment, read from the script: its
    ``--setenv`` lines and its ``django-admin`` (this venv's), the data dir a temporary
    one, and the environment file's variables those of the test run."""
    script = (DEPLOY / "systemd" / "srn-manage").read_text()
    environment = dict(re.findall(r"--setenv=([A-Z_]+)=(\S+)", script))
    assert environment["SRN_DATA_DIR"] == "/var/lib/srn"
    environment["SRN_DATA_DIR"] = str(data_dir)
    program = re.search(r"(/opt/srn/venv/bin/django-admin) \"\$@\"", script)
    assert program is not None
    admin = str(Path(sys.executable).parent / "django-admin")
    return [admin], dict(os.environ, DATABASE_URL=database_url, **environment)


def last_entry(**match) -> AuditEntry:
    entry = AuditEntry.objects.filter(**match).order_by("-pk").first()
    assert entry is not None, match
    return entry


class Person:
    """One browser (its own cookies) of one invitee, and their authenticator app."""

    def __init__(self, username: str):
        self.username = username
        self.client = Client()
        self.key: bytes | None = None

    def follow(self, link_token: str) -> None:
        """Open the link, set the password and enrol (MFA_REQUIRED): signed in after."""
        opened = self.client.get(f"/invitations/{link_token}/")
        assert opened.status_code == 200
        assert last_entry(action="view", object_type="invitation").detail["kind"] == "invitation"
        set_password = self.client.post(
            f"/invitations/{link_token}/", {"password": PASSWORD, "confirm": PASSWORD}
        )
        assert set_password["Location"] == "/accounts/mfa/"
        page = self.client.get("/accounts/mfa/")
        assert page.status_code == 200
        assert b'<img class="qr" src="data:image/svg+xml' in page.content
        enrol = last_entry(action="mfa_enrol")
        assert enrol.actor_username == self.username
        secret = re.search(rb'<code id="mfa-secret">([A-Z2-7 ]+)</code>', page.content)
        self.key = b32decode(secret.group(1).replace(b" ", b""))
        codes = self.client.post("/accounts/mfa/", {"code": self.code()})
        assert codes.status_code == 200
        assert len(re.findall(rb"<li><code>[a-z2-7]{8}</code></li>", codes.content)) == 10
        assert last_entry(action="mfa_confirm").actor_username == self.username
        login = last_entry(action="login")
        assert (login.actor_username, login.detail["factor"]) == (self.username, "totp")

    def code(self) -> str:
        return f"{totp(self.key):06d}"

    def sign_in_again(self) -> None:
        """Sign out, then in with password and the next code (a step later)."""
        self.client.post("/accounts/logout/")
        with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=True):
            step_one = self.client.post(
                "/accounts/login/", {"username": self.username, "password": PASSWORD}
            )
            assert step_one["Location"] == "/accounts/login/code/"
            assert last_entry(action="mfa_challenge").actor_username == self.username
            step_two = self.client.post("/accounts/login/code/", {"code": self.code()})
            assert step_two.status_code == 302
            assert last_entry(action="login").actor_username == self.username

    def api(self, method: str, path: str, body: dict | None = None):
        send = getattr(self.client, method)
        return send(path, body, content_type="application/json") if body else send(path)


def test_first_start_as_the_runbook_says(settings, tmp_path):
    # The production default (tests/conftest.py turns it off for other tests).
    settings.MFA_REQUIRED = True
    from django.db import connection

    assert settings.PRODUCTION
    section = first_start_section()
    [command] = section_commands(section)  # the one command to run on the server
    words = shlex.split(command)
    assert words[:2] == ["srn-manage", "bootstrap_network"]
    program, environment = srn_manage(tmp_path, processes.database_url(connection.settings_dict))
    done = subprocess.run(
        program + words[1:],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    # What the section says it does: the agency, its first network admin without a
    # password, both on the record, and a link to the first trusted origin.
    arguments = dict(zip(words[2::2], words[3::2], strict=True))
    coordination = Agency.objects.get(slug=arguments["--agency-slug"])
    assert (coordination.name, coordination.kind) == (arguments["--agency-name"], "government")
    first = Membership.objects.get(user__username=arguments["--username"])
    assert first.role == Role.NETWORK_ADMIN
    assert not first.user.has_usable_password()
    assert last_entry(action="create", object_type="agency").detail["via"] == "bootstrap_network"
    assert last_entry(action="member_add").detail == {
        "role": "network_admin",
        "via": "bootstrap_network",
    }
    link = LINK.search(done.stdout)
    assert link is not None, "it prints the one-time link"
    assert link.group(0).startswith(settings.CSRF_TRUSTED_ORIGINS[0] + "/invitations/")

    # They open it, set a password and set up the second factor; then sign in with it.
    admin = Person(arguments["--username"])
    admin.follow(link.group(1))
    admin.sign_in_again()
    used = set()

    def call(person: Person, method: str, path: str, body: dict | None = None, status=200):
        response = person.api(method, path, body)
        assert response.status_code == status, response.content
        used.add(f"{method.upper()} {ID.sub('/{id}/', path)}")
        return response.json()

    # The API takes the code too.
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=True):
        token_body = {"username": admin.username, "password": PASSWORD}
        refused = Client().post("/api/v1/auth/token/", token_body, content_type="application/json")
        assert (refused.status_code, refused.json()["code"]) == (401, "otp_required")
        issued = call(admin, "post", "/api/v1/auth/token/", token_body | {"otp": admin.code()})
        assert issued["token"]
        assert last_entry(action="login", object_type="token").detail["factor"] == "totp"

    # 1. Add an agency.
    clinic = call(
        admin,
        "post",
        "/api/v1/agencies/",
        {
            "name": "Harbor Clinic",
            "slug": "harbor-clinic",
            "kind": "healthcare",
            "services": ["medical"],
            "regions": ["metro"],
            "languages": ["en", "es"],
        },
        status=201,
    )
    assert last_entry(action="create", object_type="agency").object_id == str(clinic["id"])
    # 2. Invite its first agency admin; the link goes by email only.
    invited = call(
        admin,
        "post",
        "/api/v1/invitations/",
        {
            "agency": clinic["id"],
            "role": "agency_admin",
            "username": "clinic.admin",
            "email": "clinic.admin@example.org",
        },
        status=201,
    )
    assert "token" not in invited
    assert last_entry(action="create", object_type="invitation").actor_username == admin.username
    assert mail.outbox[-1].to == ["clinic.admin@example.org"]
    # 3. The agency admin follows the emailed link (password, second factor) and invites
    # a caseworker on the page the section names.
    clinic_admin = Person("clinic.admin")
    clinic_admin.follow(LINK.search(mail.outbox[-1].body).group(1))
    assert last_entry(action="member_add").actor_username == "clinic.admin"
    invite_page = clinic_admin.client.post(
        "/invite/",
        {
            "agency": clinic["id"],
            "role": "caseworker",
            "username": "clinic.worker",
            "email": "clinic.worker@example.org",
        },
    )
    assert invite_page.status_code == 302
    assert last_entry(action="create", object_type="invitation").actor_username == "clinic.admin"
    worker = Person("clinic.worker")
    worker.follow(LINK.search(mail.outbox[-1].body).group(1))
    joined = last_entry(action="member_add")
    assert (joined.actor_username, joined.actor_role) == ("clinic.worker", "caseworker")

    # The endpoints the numbered steps name were the ones used.
    steps = section[section.index("Then, signed in") : section.index("A member who lost")]
    named = {f"POST {path}" for path in re.findall(r"`POST (/api/v1/[^`]+)`", steps)}
    assert named <= used, named - used

    # A liaison elsewhere refers a survivor to the clinic under consent; the new
    # caseworker reads it, and the read is on the record without PII.
    clinic_agency = Agency.objects.get(pk=clinic["id"])
    liaison = MemberFactory(
        agency=AgencyFactory(slug="police", kind="law_enforcement"), role=Role.LIAISON
    )
    survivor = consent_services.survivor_create(actor=liaison, data={"given_name": "canary-g"})
    services.consent_record(
        actor=liaison,
        survivor_id=survivor.pk,
        **consent_fields({"clinic": clinic_agency}, "clinic"),
    )
    referral = services.referral_create(
        actor=liaison,
        survivor_id=survivor.pk,
        recipients=[clinic["id"]],
        needs=["medical"],
        urgency="high",
        narrative="canary-narrative",
    )
    read = call(worker, "get", f"/api/v1/referrals/{referral.pk}/")
    assert read["survivor"]["given_name"] == "canary-g"
    view = last_entry(action="view", object_type="referral")
    assert (view.actor_username, view.survivor_ref) == ("clinic.worker", survivor.ref)
    assert "canary" not in repr(view.detail)
    for message in mail.outbox:  # no survivor data, no code, in any email
        assert "canary" not in message.body
        assert "canary" not in unescape(message.subject)
