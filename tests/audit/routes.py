"""The table of audit cases for every URL route of the project.

``test_every_route`` walks the URL resolver: every route x method must either have
cases here (each asserting exactly one new audit entry with all its fields), be an
explicit, reasoned exemption, or answer 405. A new route or method without cases
fails the test.

To cover a new endpoint, add its cases to ``API_CASES`` (or ``WEB_CASES``) below;
the admin's are generated per registered model in ``admin_routes.py``.
Values in ``{braces}`` are filled from the world ``world.py`` builds; ``ANY`` means
"present, value not known beforehand".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ANY = "<any>"
# URL parameters whose object type is not their name less ``_id`` (``audit.denials``).
KIND_BY_KWARG = {"member_id": "membership", "access_id": "emergency_access"}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# Routes (or route + method) that are not accesses of anything: no case, no 405 probe.
EXEMPT = {
    ("healthz", None): "liveness probe: answers a constant, reads nothing",
    ("readyz", None): "readiness probe: checks the database and channel layer, reads no rows",
    ("api/schema/", None): "the OpenAPI document: describes the API, holds no data",
    ("api/docs/", None): "Swagger UI page (static assets): holds no data",
    ("accounts/login/", "GET"): "the empty sign-in form; the POST is audited (login/login_failed)",
    ("admin/login/", None): "redirects to /accounts/login/, the one audited sign-in",
    ("admin/jsi18n/", None): "the admin's translation catalog (JavaScript), no data",
    ("fhir/R4/metadata", None): "the FHIR CapabilityStatement: describes the face, holds no data",
    ("accounts/password-reset/", "GET"): "the empty reset form; the POST is audited",
    ("accounts/password-reset/", "HEAD"): "as its GET",
    ("invite/", "GET"): "the empty invitation form (reads nothing); the POST is audited",
    ("accounts/login/code/", "GET"): "the empty code form of a sign-in whose password was "
    "right (audited mfa_challenge), else a redirect to sign in; the POST is audited",
    ("accounts/login/code/", "HEAD"): "as its GET",
    ("invite/", "HEAD"): "as its GET",
    ("referrals/<uuid:referral_id>/emergency-access/", None): "the emergency access form and "
    "its confirmation restate the caller's own input: nothing read or written (a refusal is "
    "audited; the open step is the audited access)",
    ("", None): "the web home only redirects to the caller's start page (or to sign in) and "
    "shows nothing; other methods answer 405 (tests/web/test_access.py)",
}


@dataclass(frozen=True)
class Case:
    """One request and the one audit entry it must leave."""

    route: str
    method: str
    client: str | None  # member key sending it (None: anonymous)
    status: int
    action: str
    outcome: str = "allowed"
    actor: str | None = "<client>"  # member key the entry names (None: nobody)
    object_type: str = ""
    object_id: str = ""
    survivor_ref: str = ""
    categories: tuple[str, ...] = ()
    consent_ids: tuple[str, ...] = ()
    kwargs: dict = field(default_factory=dict)
    query: str = ""
    body: dict | None = None
    bearer: bool = False  # sign in with a real API token (not a forced user)
    name: str = ""

    @property
    def expected_actor(self) -> str | None:
        return self.client if self.actor == "<client>" else self.actor

    def refused(self, client: str | None, status: int, **changes) -> Case:
        """The same request refused: one ``denied`` entry, nothing disclosed."""
        return replace(
            self,
            client=client,
            status=status,
            action="denied",
            outcome="denied",
            actor="<client>",
            survivor_ref="",
            categories=(),
            consent_ids=(),
            name=f"{self.name or self.method}-refused-{client or 'anonymous'}",
            **changes,
        )


def _api(route, method, client, status, action, *, wrong_role=None, **fields) -> list[Case]:
    """An allowed API case plus its refusals: anonymous (401) and a role that may not."""
    allowed = Case(f"api/v1/{route}", method, client, status, action, **fields)
    # A refusal names the object its URL names (not what the allowed call creates).
    object_fields = {"object_type": "", "object_id": ""}
    for name, value in allowed.kwargs.items():
        kind = KIND_BY_KWARG.get(name, name.removesuffix("_id"))
        object_fields = {"object_type": kind, "object_id": value}
    cases = [allowed, allowed.refused(None, 401, **object_fields)]
    if wrong_role:
        cases.append(allowed.refused(wrong_role, 403, **object_fields))
    if method == "GET":  # HEAD runs GET: the same entry
        cases.append(replace(allowed, method="HEAD"))
    return cases


SURVIVOR = {"survivor_id": "{survivor}"}
REFERRAL = {"referral_id": "{referral}"}
REF = "{ref}"
RECIPIENT_SEES = ("contact", "identity")
NEW_SURVIVOR = {"given_name": "canary-new-given", "preferred_language": "es"}


def _fhir(route, method, client, status, action, *, wrong_role=None, **fields) -> list[Case]:
    """A FHIR read (``/fhir/R4/``), its refusals (anonymous 401, a role that may not
    403) and its HEAD, as ``_api`` builds them for the REST API."""
    allowed = Case(f"fhir/R4/{route}", method, client, status, action, **fields)
    object_fields = {"object_type": "", "object_id": ""}
    for name, value in allowed.kwargs.items():  # a refusal names the URL's first id
        object_fields = {"object_type": name.removesuffix("_id"), "object_id": value}
        break
    cases = [allowed, allowed.refused(None, 401, **object_fields)]
    if wrong_role:
        cases.append(allowed.refused(wrong_role, 403, **object_fields))
    return [*cases, replace(allowed, method="HEAD")]


TASK = {"referral_id": "{referral}", "agency_id": "{shelter_agency}"}
# A FHIR read leaves the entry its REST twin leaves (tests/coordination/fhir/).
FHIR_CASES: list[Case] = [
    *_fhir(
        "ServiceRequest",
        "GET",
        "caseworker",
        200,
        "list",
        object_type="referral",
        wrong_role="admin",
    ),
    *_fhir(
        "ServiceRequest/<uuid:referral_id>",
        "GET",
        "caseworker",
        200,
        "view",
        object_type="referral",
        object_id="{referral}",
        survivor_ref=REF,
        categories=RECIPIENT_SEES,
        consent_ids=("{consent}",),
        kwargs=REFERRAL,
        wrong_role="admin",
    ),
    Case(
        "fhir/R4/ServiceRequest/<uuid:referral_id>",
        "GET",
        "outsider",
        404,
        "denied",
        outcome="denied",
        object_type="referral",
        object_id="{referral}",
        kwargs=REFERRAL,
        name="hidden",
    ),
    *_fhir("Task", "GET", "caseworker", 200, "list", object_type="referral", wrong_role="admin"),
    *_fhir(
        "Task/<uuid:referral_id>-<int:agency_id>",
        "GET",
        "caseworker",
        200,
        "view",
        object_type="referral",
        object_id="{referral}",
        survivor_ref=REF,
        categories=RECIPIENT_SEES,
        consent_ids=("{consent}",),
        kwargs=TASK,
        wrong_role="admin",
    ),
    Case(
        "fhir/R4/Task/<uuid:referral_id>-<int:agency_id>",
        "GET",
        "outsider",
        404,
        "denied",
        outcome="denied",
        object_type="referral",
        object_id="{referral}",
        kwargs=TASK,
        name="hidden",
    ),
    *_fhir("Patient", "GET", "caseworker", 200, "list", object_type="referral", wrong_role="admin"),
    *_fhir(
        "Patient/<uuid:survivor_id>",
        "GET",
        "caseworker",
        200,
        "view",
        object_type="referral",
        object_id="{referral}",
        survivor_ref=REF,
        categories=RECIPIENT_SEES,
        consent_ids=("{consent}",),
        kwargs=SURVIVOR,
        wrong_role="admin",
    ),
    Case(
        "fhir/R4/Patient/<uuid:survivor_id>",
        "GET",
        "liaison",
        200,
        "view",
        object_type="survivor",
        object_id="{survivor}",
        survivor_ref=REF,
        categories=("contact", "identity", "immigration", "location"),
        kwargs=SURVIVOR,
        name="owner",
    ),
    Case(
        "fhir/R4/Patient/<uuid:survivor_id>",
        "GET",
        "outsider",
        404,
        "denied",
        outcome="denied",
        object_type="survivor",
        object_id="{survivor}",
        kwargs=SURVIVOR,
        name="hidden",
    ),
    *_fhir(
        "Consent", "GET", "liaison", 200, "list", object_type="consent", wrong_role="caseworker"
    ),
    *_fhir(
        "Consent/<uuid:consent_id>",
        "GET",
        "liaison",
        200,
        "list",
        object_type="consent",
        kwargs={"consent_id": "{consent}"},
        wrong_role="caseworker",
    ),
    *_fhir(
        "AuditEvent",
        "GET",
        "compliance",
        200,
        "list",
        object_type="audit_entry",
        wrong_role="caseworker",
    ),
]

API_CASES: list[Case] = [
    Case(
        "api/v1/auth/token/",
        "POST",
        None,
        200,
        "login",
        actor="caseworker",
        object_type="token",
        object_id=ANY,
        body={"username": "{caseworker_username}", "password": "{password}"},
    ),
    Case(
        "api/v1/auth/token/",
        "POST",
        None,
        401,
        "login_failed",
        outcome="denied",
        actor="caseworker",
        body={"username": "{caseworker_username}", "password": "wrong-password-here"},
        name="bad-password",
    ),
    *_api("auth/logout/", "POST", "caseworker", 204, "logout"),
    *_api(
        "auth/ws-ticket/",
        "POST",
        "caseworker",
        201,
        "create",
        object_type="ws_ticket",
        object_id=ANY,
        bearer=True,
        wrong_role="admin",
    ),
    *_api("me/", "GET", "caseworker", 200, "view", object_type="membership", object_id="{me}"),
    *_api("events/", "GET", "caseworker", 200, "list", object_type="event", wrong_role="admin"),
    *_api("agencies/", "GET", "caseworker", 200, "list", object_type="agency"),
    *_api(
        "members/", "GET", "admin", 200, "list", object_type="membership", wrong_role="caseworker"
    ),
    *_api(
        "members/",
        "POST",
        "admin",
        201,
        "member_add",
        object_type="membership",
        object_id=ANY,
        body={"username": "new.member", "password": "a-long-new-password-1", "role": "caseworker"},
        wrong_role="caseworker",
    ),
    *_api(
        "members/<int:member_id>/",
        "PATCH",
        "admin",
        200,
        "member_update",
        object_type="membership",
        object_id="{colleague}",
        kwargs={"member_id": "{colleague}"},
        body={"role": "liaison"},
        wrong_role="caseworker",
    ),
    *_api(
        "members/<int:member_id>/deactivate/",
        "POST",
        "admin",
        200,
        "member_deactivate",
        object_type="membership",
        object_id="{colleague}",
        kwargs={"member_id": "{colleague}"},
        wrong_role="caseworker",
    ),
    *_api(
        "members/<int:member_id>/unlock/",
        "POST",
        "admin",
        200,
        "member_unlock",
        object_type="membership",
        object_id="{colleague}",
        kwargs={"member_id": "{colleague}"},
        wrong_role="caseworker",
    ),
    *_api(
        "survivors/", "GET", "liaison", 200, "list", object_type="survivor", wrong_role="caseworker"
    ),
    *_api(
        "survivors/",
        "POST",
        "liaison",
        201,
        "create",
        object_type="survivor",
        object_id=ANY,
        survivor_ref=ANY,
        categories=("identity",),
        body=NEW_SURVIVOR,
        wrong_role="caseworker",
    ),
    *_api(
        "survivors/<uuid:survivor_id>/",
        "GET",
        "liaison",
        200,
        "view",
        object_type="survivor",
        object_id="{survivor}",
        survivor_ref=REF,
        categories=("contact", "identity", "immigration", "location"),
        kwargs=SURVIVOR,
        wrong_role="caseworker",
    ),
    *_api(
        "survivors/<uuid:survivor_id>/",
        "PATCH",
        "liaison",
        200,
        "update",
        object_type="survivor",
        object_id="{survivor}",
        survivor_ref=REF,
        categories=("contact",),
        kwargs=SURVIVOR,
        body={"phone": "canary-new-phone"},
        wrong_role="caseworker",
    ),
    *_api(
        # A profile with open referrals and consents writes an entry per consent ended and
        # referral cancelled as well (tests/coordination/test_erasure.py).
        "survivors/<uuid:survivor_id>/erasure/",
        "POST",
        "liaison",
        200,
        "erasure",
        object_type="survivor",
        object_id="{unreferred_survivor}",
        survivor_ref="{unreferred_ref}",
        categories=("contact", "identity", "immigration", "location", "narrative"),
        kwargs={"survivor_id": "{unreferred_survivor}"},
        body={"reason": "survivor_request"},
        wrong_role="caseworker",
    ),
    *_api(
        "consents/", "GET", "liaison", 200, "list", object_type="consent", wrong_role="caseworker"
    ),
    *_api(
        "consents/",
        "POST",
        "liaison",
        201,
        "consent_record",
        object_type="consent",
        object_id=ANY,
        survivor_ref=REF,
        categories=("identity",),
        consent_ids=(ANY,),
        body={
            "survivor": "{survivor}",
            "recipients": ["{legal_agency}"],
            "categories": ["identity"],
            "method": "written",
            "evidence_sha256": "a" * 64,
            "language": "en",
            "interpreter_used": False,
            "notice_version": "2026-01",
            "services_not_conditional": True,
            "signed_by": "survivor",
            "expires_at": "{expires}",
        },
        wrong_role="caseworker",
    ),
    *_api(
        "consents/<uuid:consent_id>/revoke/",
        "POST",
        "liaison",
        200,
        "consent_revoke",
        object_type="consent",
        object_id="{consent}",
        survivor_ref=REF,
        consent_ids=("{consent}",),
        kwargs={"consent_id": "{consent}"},
        body={"reason": "canary-revoke-reason", "channel": "oral"},
        wrong_role="caseworker",
    ),
    *_api(
        "referrals/", "GET", "caseworker", 200, "list", object_type="referral", wrong_role="admin"
    ),
    *_api(
        "referrals/",
        "POST",
        "liaison",
        201,
        "create",
        object_type="referral",
        object_id=ANY,
        survivor_ref=REF,
        categories=("narrative",),
        body={
            "survivor": "{survivor}",
            "recipients": ["{legal_agency}"],
            "needs": ["legal"],
            "urgency": "high",
            "narrative": "canary-second-narrative",
        },
        wrong_role="admin",
    ),
    *_api(
        "referrals/<uuid:referral_id>/",
        "GET",
        "caseworker",
        200,
        "view",
        object_type="referral",
        object_id="{referral}",
        survivor_ref=REF,
        categories=RECIPIENT_SEES,
        consent_ids=("{consent}",),
        kwargs=REFERRAL,
        wrong_role="admin",
    ),
    # A recipient that no consent covers: the 404 that hides the referral is one entry.
    Case(
        "api/v1/referrals/<uuid:referral_id>/",
        "GET",
        "outsider",
        404,
        "denied",
        outcome="denied",
        object_type="referral",
        object_id="{referral}",
        kwargs=REFERRAL,
        name="hidden",
    ),
    *_api(
        "referrals/<uuid:referral_id>/transitions/",
        "POST",
        "caseworker",
        200,
        "transition",
        object_type="referral",
        object_id="{referral}",
        survivor_ref=REF,
        categories=RECIPIENT_SEES,
        consent_ids=("{consent}",),
        kwargs=REFERRAL,
        body={"action": "accept"},
        wrong_role="admin",
    ),
    *_api(
        "referrals/<uuid:referral_id>/notes/",
        "GET",
        "caseworker",
        200,
        "list",
        object_type="referral",
        object_id="{referral}",
        survivor_ref=REF,
        categories=RECIPIENT_SEES,
        consent_ids=("{consent}",),
        kwargs=REFERRAL,
        wrong_role="admin",
    ),
    *_api(
        "referrals/<uuid:referral_id>/notes/",
        "POST",
        "caseworker",
        201,
        "create",
        object_type="case_note",
        object_id=ANY,
        survivor_ref=REF,
        kwargs=REFERRAL,
        body={"text": "canary-note-text"},
        wrong_role="admin",
    ),
    *_api(
        "audit/entries/",
        "GET",
        "compliance",
        200,
        "list",
        object_type="audit_entry",
        wrong_role="caseworker",
    ),
    Case(
        "api/v1/audit/entries/",
        "GET",
        "compliance",
        200,
        "export",
        object_type="audit_entry",
        query="format=csv",
        name="export",
    ),
    *_api(
        "audit/ledger/",
        "GET",
        "compliance",
        200,
        "list",
        object_type="disclosure",
        survivor_ref=REF,
        query="survivor_ref={ref}",
        wrong_role="caseworker",
    ),
    *_api(
        "audit/verify/",
        "GET",
        "compliance",
        200,
        "verify",
        object_type="audit_chain",
        wrong_role="caseworker",
    ),
    *_api(
        "referrals/<uuid:referral_id>/emergency-access/",
        "POST",
        "caseworker",
        201,
        "emergency_access",
        object_type="emergency_access",
        object_id=ANY,
        survivor_ref=REF,
        kwargs=REFERRAL,
        body={
            "reason_code": "imminent_danger",
            "justification": "canary-justification-route-walk",
            "categories": ["location"],
        },
        wrong_role="liaison",
    ),
    *_api(
        "emergency-access/",
        "GET",
        "compliance",
        200,
        "list",
        object_type="emergency_access",
        wrong_role="caseworker",
    ),
    *_api(
        "emergency-access/<uuid:access_id>/review/",
        "POST",
        "compliance",
        200,
        "emergency_review",
        object_type="emergency_access",
        object_id="{emergency}",
        survivor_ref=REF,
        kwargs={"access_id": "{emergency}"},
        body={"decision": "justified", "note": "route walk"},
        wrong_role="caseworker",
    ),
    *_api(
        "survivors/<uuid:survivor_id>/disclosures/",
        "GET",
        "liaison",
        200,
        "view",
        object_type="disclosure_report",
        object_id="{survivor}",
        survivor_ref=REF,
        kwargs=SURVIVOR,
        wrong_role="caseworker",
    ),
    *_api(
        "audit/alerts/",
        "GET",
        "compliance",
        200,
        "list",
        object_type="alert",
        wrong_role="caseworker",
    ),
    *_api(
        "audit/alerts/<int:alert_id>/acknowledge/",
        "POST",
        "compliance",
        200,
        "alert_acknowledge",
        object_type="alert",
        object_id="{alert}",
        kwargs={"alert_id": "{alert}"},
        body={"note": "Reviewed with the agency admin."},
        wrong_role="caseworker",
    ),
    *FHIR_CASES,
]

# Network administration (agencies/api/network.py).
_AGENCY = {"agency_id": "{legal_agency}"}
_NEW_PASSWORD = "a-new-long-password-9"
NETWORK_API_CASES: list[Case] = [
    *_api(
        "agencies/",
        "GET",
        "network_admin",
        200,
        "list",
        object_type="agency",
        query="need=legal&region=metro",
        name="network-admin-filtered",
    ),
    *_api(
        "agencies/",
        "POST",
        "network_admin",
        201,
        "create",
        object_type="agency",
        object_id=ANY,
        body={"name": "New Clinic", "slug": "new-clinic", "kind": "healthcare"},
        wrong_role="admin",
    ),
    *_api(
        "agencies/<int:agency_id>/",
        "PATCH",
        "network_admin",
        200,
        "update",
        object_type="agency",
        object_id="{legal_agency}",
        kwargs=_AGENCY,
        body={"capacity_note": "two beds"},
        wrong_role="caseworker",
    ),
    *_api(
        "agencies/<int:agency_id>/suspend/",
        "POST",
        "network_admin",
        200,
        "update",
        object_type="agency",
        object_id="{legal_agency}",
        kwargs=_AGENCY,
        wrong_role="admin",
    ),
    *_api(
        "agencies/<int:agency_id>/reinstate/",
        "POST",
        "network_admin",
        200,
        "update",
        object_type="agency",
        object_id="{suspended_agency}",
        kwargs={"agency_id": "{suspended_agency}"},
        wrong_role="admin",
    ),
    *_api(
        "invitations/",
        "POST",
        "admin",
        201,
        "create",
        object_type="invitation",
        object_id=ANY,
        body={
            "agency": "{shelter_agency}",
            "role": "caseworker",
            "username": "new.invitee",
            "email": "new.invitee@example.org",
        },
        wrong_role="caseworker",
    ),
    Case(
        "api/v1/invitations/accept/",
        "POST",
        None,
        200,
        "update",
        actor="caseworker",
        object_type="password",
        object_id="{me}",
        body={"token": "{reset_token}", "password": _NEW_PASSWORD},
    ),
    Case(
        "api/v1/invitations/accept/",
        "POST",
        None,
        404,
        "denied",
        outcome="denied",
        object_type="invitation",
        body={"token": "tampered-" + "x" * 34, "password": _NEW_PASSWORD},
        name="tampered",
    ),
    Case(
        "api/v1/password-reset/",
        "POST",
        None,
        202,
        "create",
        actor="caseworker",
        object_type="password_reset",
        object_id=ANY,
        body={"username": "{caseworker_username}"},
    ),
    Case(
        "api/v1/password-reset/",
        "POST",
        None,
        202,
        "create",
        object_type="password_reset",
        body={"username": "nobody-by-this-name"},
        name="unknown-user",
    ),
]
API_CASES += NETWORK_API_CASES

# The second factor (agencies/mfa.py): enrolment, the code step, resets by admins.
MFA_CASES: list[Case] = [
    *_api(
        "members/<int:member_id>/mfa-reset/",
        "POST",
        "admin",
        200,
        "mfa_reset",
        wrong_role="caseworker",
        object_type="membership",
        object_id="{colleague}",
        kwargs={"member_id": "{colleague}"},
    ),
    Case(
        "api/v1/members/<int:member_id>/mfa-reset/",
        "POST",
        "network_admin",
        200,
        "mfa_reset",
        object_type="membership",
        object_id="{shelter_admin}",
        kwargs={"member_id": "{shelter_admin}"},
        name="network-admin-resets-an-agency-admin",
    ),
    Case(
        "accounts/mfa/",
        "GET",
        "caseworker",
        200,
        "mfa_enrol",
        object_type="mfa_device",
        object_id="{enrol_device}",
    ),
    Case(
        "accounts/mfa/",
        "HEAD",
        "caseworker",
        200,
        "mfa_enrol",
        object_type="mfa_device",
        object_id="{enrol_device}",
    ),
    Case(
        "accounts/mfa/",
        "POST",
        "caseworker",
        200,
        "mfa_confirm",
        object_type="mfa_device",
        object_id="{enrol_device}",
        body={"code": "{enrol_code}"},
    ),
    Case(
        "accounts/mfa/",
        "POST",
        "caseworker",
        400,
        "mfa_failed",
        outcome="denied",
        object_type="mfa_device",
        object_id="{enrol_device}",
        body={"code": "not-the-code"},
        name="wrong-code",
    ),
    Case("accounts/mfa/", "GET", None, 302, "denied", outcome="denied", name="anonymous"),
    Case("accounts/mfa/", "POST", None, 302, "denied", outcome="denied", name="anonymous"),
    Case(
        "accounts/login/code/",
        "POST",
        None,
        401,
        "denied",
        outcome="denied",
        body={"code": "123456"},
        name="no-password-step",
    ),
]

# Network reports (coordination/api/reports.py): a read, or an export as CSV.
API_CASES += [
    *_api(
        "reports/referrals/",
        "GET",
        "network_admin",
        200,
        "view",
        object_type="referral_report",
        wrong_role="caseworker",
        query="group_by=region",
    ),
    *_api(
        "reports/referrals/",
        "GET",
        "admin",
        200,
        "export",
        object_type="referral_report",
        wrong_role="liaison",
        query="format=csv",
        name="report-csv",
    ),
]

WEB_CASES: list[Case] = [
    Case(
        "accounts/login/",
        "POST",
        None,
        302,
        "login",
        actor="caseworker",
        body={"username": "{caseworker_username}", "password": "{password}"},
    ),
    Case(
        "accounts/login/",
        "POST",
        None,
        401,
        "login_failed",
        outcome="denied",
        actor="caseworker",
        body={"username": "{caseworker_username}", "password": "wrong-password-here"},
        name="bad-password",
    ),
    Case("accounts/logout/", "POST", "caseworker", 302, "logout"),
    *MFA_CASES,
]
