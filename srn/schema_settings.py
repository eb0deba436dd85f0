"""drf-spectacular's settings: how /api/schema/ and /api/docs/ describe the API. Plain
data, read by ``srn/settings.py``."""

SPECTACULAR_SETTINGS = {
    "TITLE": "Safe Referral Network API",
    "DESCRIPTION": (
        "Consent-gated referral coordination between anti-trafficking agencies. "
        "Survivor data is released only under the survivor's active consent; every "
        "access is audited."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per shared choice set, wherever it appears.
    "ENUM_NAME_OVERRIDES": {
        "DataCategoryEnum": "consent.categories.Category",
        "RecipientStatusEnum": "coordination.states.STATES",
        "NeedEnum": "agencies.models.Need",
        "ReportMeasureEnum": "coordination.reports.MEASURES",
    },
    # Every operation documents its error statuses, each with the one error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "srn.openapi.add_error_responses",
    ],
}
