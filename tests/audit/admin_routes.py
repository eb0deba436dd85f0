"""Route-walk cases for the compliance admin: generated per registered model, so a
model added to the site is covered (and must behave) without new table rows."""

from __future__ import annotations

from dataclasses import replace

from tests.audit.routes import Case


def _admin_model_cases(
    app_label: str, model_name: str, object_type: str, *, refusals_too: bool
) -> list[Case]:
    base = f"admin/{app_label}/{model_name}/"
    obj = "{admin_object:" + f"{app_label}.{model_name}" + "}"
    kwargs = {"object_id": obj}
    cases = []
    for method in ("GET", "HEAD", "POST"):
        reads = [
            Case(base, method, "compliance", 200, "list", object_type=object_type),
            Case(
                base + "<path:object_id>/change/",
                method,
                "compliance",
                200,
                "view",
                object_type=object_type,
                object_id=obj,
                kwargs=kwargs,
            ),
            Case(
                base + "<path:object_id>/history/",
                method,
                "compliance",
                200,
                "view",
                object_type=object_type,
                object_id=obj,
                kwargs=kwargs,
            ),
            Case(
                base + "<path:object_id>/",
                method,
                "compliance",
                302,
                "view",
                object_type=object_type,
                object_id=obj,
                kwargs=kwargs,
            ),
        ]
        if method == "POST":  # a POST to a read-only change form is refused
            reads[1] = reads[1].refused("compliance", 403)
            reads[1] = replace(reads[1], object_type=object_type, object_id=obj)
        refusals = [
            Case(base + "add/", method, "compliance", 403, "denied", outcome="denied"),
            Case(
                base + "<path:object_id>/delete/",
                method,
                "compliance",
                403,
                "denied",
                outcome="denied",
                object_id=obj,
                kwargs=kwargs,
            ),
        ]
        refusals = [replace(c, object_type=object_type) for c in refusals]
        for case in reads + refusals:
            cases.append(case)
            # Refusals happen in the site's wrapper, before any model's view: shown on
            # GET of one model's every view (and of every site view below).
            if method == "GET" and refusals_too:
                cases.append(case.refused(None, 302, object_type=object_type))
                cases.append(case.refused("caseworker", 403, object_type=object_type))
    return cases


def admin_cases(site) -> list[Case]:
    """Cases for the compliance admin, one block per registered model."""
    cases = []
    for number, (model, model_admin) in enumerate(site._registry.items()):
        object_type = model_admin.audit_object_type or model._meta.model_name
        cases += _admin_model_cases(
            model._meta.app_label, model._meta.model_name, object_type, refusals_too=number == 0
        )
    app_route = (
        "admin/^(?P<app_label>"
        + "|".join(dict.fromkeys(model._meta.app_label for model in site._registry))
        + ")/$"
    )
    for method in ("GET", "HEAD", "POST"):
        site_cases = [
            Case("admin/", method, "compliance", 200, "view", object_type="admin_index"),
            Case(
                app_route,
                method,
                "compliance",
                200,
                "view",
                object_type="admin_app",
                object_id="audit",
                kwargs={"app_label": "audit"},
            ),
            Case(
                "admin/password_change/",
                method,
                "compliance",
                403,
                "denied",
                outcome="denied",
                object_type="admin_password",
            ),
            Case(
                "admin/password_change/done/",
                method,
                "compliance",
                403,
                "denied",
                outcome="denied",
                object_type="admin_password",
            ),
        ]
        for case in site_cases:
            cases.append(case)
            if method == "GET":
                fields = {"object_type": case.object_type, "object_id": case.object_id}
                cases.append(case.refused(None, 302, **fields))
                cases.append(case.refused("caseworker", 403, **fields))
    cases.append(Case("admin/logout/", "POST", "compliance", 302, "logout"))
    cases.append(
        Case("admin/logout/", "POST", "compliance", 302, "logout").refused(
            None, 302, object_type="admin"
        )
    )
    return cases
