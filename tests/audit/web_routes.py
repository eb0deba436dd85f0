"""Route-walk cases for the web pages (``coordination/web/``): each page read or form
post leaves one entry, the same its API twin leaves (they call the same selectors and
services); each refusal one ``denied`` entry: anonymous (sent to sign in), a role that
may not (403), an agency the referral is not released to (404)."""

from __future__ import annotations

from dataclasses import replace

from tests.audit.routes import ANY, Case


def _page(route, method, client, status, action, *, wrong_role, **fields) -> list[Case]:
    allowed = Case(route, method, client, status, action, **fields)
    object_fields = {"object_type": "", "object_id": ""}
    for name, value in allowed.kwargs.items():
        kind = {"member_id": "membership"}.get(name, name.removesuffix("_id"))
        object_fields = {"object_type": kind, "object_id": value}
    cases = [
        allowed,
        allowed.refused(None, 302, **object_fields),
        allowed.refused(wrong_role, 403, **object_fields),
    ]
    if method == "GET":  # reading pages answer HEAD as GET, with the same entry
        cases.append(replace(allowed, method="HEAD"))
    return cases


_SURVIVOR = {"survivor_id": "{survivor}"}
_REFERRAL = {"referral_id": "{referral}"}
_RELEASED = {  # what the world's consent releases to the shelter
    "survivor_ref": "{ref}",
    "categories": ("contact", "identity"),
    "consent_ids": ("{consent}",),
}
_CONSENT_FORM = {
    "grant": ["{legal_agency}:identity"],
    "purpose": "service_referral",
    "method": "written",
    "evidence_sha256": "c" * 64,
    "language": "en",
    "notice_version": "2026-01",
    "services_not_conditional": "on",
    "signed_by": "survivor",
    "expires_at": "{expires}",
}
_MEMBER = {"member_id": "{colleague}"}

WEB_PAGE_CASES: list[Case] = [
    # liaison
    *_page(
        "survivors/",
        "GET",
        "liaison",
        200,
        "list",
        wrong_role="caseworker",
        object_type="survivor",
    ),
    *_page(
        "survivors/",
        "POST",
        "liaison",
        302,
        "create",
        wrong_role="caseworker",
        object_type="survivor",
        object_id=ANY,
        survivor_ref=ANY,
        categories=("identity",),
        body={"given_name": "web-given-7Q"},
    ),
    *_page(
        "survivors/<uuid:survivor_id>/",
        "GET",
        "liaison",
        200,
        "view",
        wrong_role="caseworker",
        object_type="survivor",
        object_id="{survivor}",
        survivor_ref="{ref}",
        categories=("contact", "identity", "immigration", "location"),
        kwargs=_SURVIVOR,
    ),
    *_page(
        "survivors/<uuid:survivor_id>/consents/",
        "GET",
        "liaison",
        200,
        "list",
        wrong_role="caseworker",
        object_type="consent",
        kwargs=_SURVIVOR,
    ),
    *_page(
        "survivors/<uuid:survivor_id>/consents/",
        "POST",
        "liaison",
        302,
        "consent_record",
        wrong_role="caseworker",
        object_type="consent",
        object_id=ANY,
        survivor_ref="{ref}",
        categories=("identity",),
        consent_ids=(ANY,),
        kwargs=_SURVIVOR,
        body=_CONSENT_FORM,
    ),
    *_page(
        "consents/<uuid:consent_id>/revoke/",
        "POST",
        "liaison",
        302,
        "consent_revoke",
        wrong_role="caseworker",
        object_type="consent",
        object_id="{consent}",
        survivor_ref="{ref}",
        consent_ids=("{consent}",),
        kwargs={"consent_id": "{consent}"},
        body={"reason": "asked by phone", "channel": "oral"},
    ),
    *_page(
        "referrals/new/",
        "GET",
        "liaison",
        200,
        "list",
        wrong_role="caseworker",
        object_type="survivor",
    ),
    *_page(
        "referrals/new/",
        "POST",
        "liaison",
        302,
        "create",
        wrong_role="caseworker",
        object_type="referral",
        object_id=ANY,
        survivor_ref="{ref}",
        body={
            "survivor": "{survivor}",
            "recipients": ["{legal_agency}"],
            "needs": ["legal"],
            "urgency": "high",
        },
    ),
    *_page(
        "referrals/outgoing/",
        "GET",
        "liaison",
        200,
        "list",
        wrong_role="caseworker",
        object_type="referral",
    ),
    *_page(
        "referrals/outgoing/table/",
        "GET",
        "liaison",
        200,
        "list",
        wrong_role="caseworker",
        object_type="referral",
    ),
    # caseworker (and the referral page, shared with the referrer's liaison)
    *_page(
        "inbox/",
        "GET",
        "caseworker",
        200,
        "list",
        wrong_role="liaison",
        object_type="referral",
    ),
    *_page(
        "inbox/table/",
        "GET",
        "caseworker",
        200,
        "list",
        wrong_role="liaison",
        object_type="referral",
    ),
    *_page(
        "referrals/<uuid:referral_id>/",
        "GET",
        "caseworker",
        200,
        "view",
        wrong_role="compliance",
        object_type="referral",
        object_id="{referral}",
        kwargs=_REFERRAL,
        **_RELEASED,
    ),
    Case(
        "referrals/<uuid:referral_id>/",
        "GET",
        "legal_caseworker",
        404,
        "denied",
        outcome="denied",
        object_type="referral",
        object_id="{referral}",
        kwargs=_REFERRAL,
        name="not-released",
    ),
    *_page(
        "referrals/<uuid:referral_id>/transition/",
        "POST",
        "caseworker",
        302,
        "transition",
        wrong_role="compliance",
        object_type="referral",
        object_id="{referral}",
        kwargs=_REFERRAL,
        body={"action": "accept"},
        **_RELEASED,
    ),
    Case(
        "referrals/<uuid:referral_id>/transition/",
        "POST",
        "legal_caseworker",
        404,
        "denied",
        outcome="denied",
        object_type="referral",
        object_id="{referral}",
        kwargs=_REFERRAL,
        body={"action": "accept"},
        name="not-released",
    ),
    *_page(
        "referrals/<uuid:referral_id>/notes/",
        "POST",
        "caseworker",
        302,
        "create",
        wrong_role="compliance",
        object_type="case_note",
        object_id=ANY,
        survivor_ref="{ref}",
        kwargs=_REFERRAL,
        body={"text": "web note"},
    ),
    # compliance officer
    *_page(
        "audit/",
        "GET",
        "compliance",
        200,
        "list",
        wrong_role="liaison",
        object_type="audit_entry",
    ),
    *_page(
        "audit/verify/",
        "GET",
        "compliance",
        200,
        "verify",
        wrong_role="liaison",
        object_type="audit_chain",
    ),
    *_page(
        "audit/ledger/",
        "GET",
        "compliance",
        200,
        "list",
        wrong_role="liaison",
        object_type="disclosure",
        survivor_ref="{ref}",
        query="survivor_ref={ref}",
    ),
    # agency admin
    *_page(
        "members/",
        "GET",
        "admin",
        200,
        "list",
        wrong_role="caseworker",
        object_type="membership",
    ),
    *_page(
        "members/",
        "POST",
        "admin",
        302,
        "member_add",
        wrong_role="caseworker",
        object_type="membership",
        object_id=ANY,
        body={
            "username": "web-new-member",
            "password": "web-long-passphrase-7Q",
            "role": "caseworker",
        },
    ),
    *_page(
        "members/<int:member_id>/role/",
        "POST",
        "admin",
        302,
        "member_update",
        wrong_role="caseworker",
        object_type="membership",
        object_id="{colleague}",
        kwargs=_MEMBER,
        body={"role": "liaison"},
    ),
    *_page(
        "members/<int:member_id>/deactivate/",
        "POST",
        "admin",
        302,
        "member_deactivate",
        wrong_role="caseworker",
        object_type="membership",
        object_id="{colleague}",
        kwargs=_MEMBER,
    ),
]
