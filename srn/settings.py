"""Settings for both profiles, chosen by the environment alone.

* ``embedded`` (the default): SQLite in WAL mode, the in-memory channel layer and
  secrets generated on first start into ``var/`` (ignored by git). Needs no environment.
* ``production`` (``SRN_PROFILE=production``): PostgreSQL from ``DATABASE_URL``, Redis
  from ``REDIS_URL``; every secret comes from the environment and an unsafe or missing
  one stops the process at start.

This is the only module that reads the environment (through ``srn.env``).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from srn import local_secrets, schema_settings
from srn.env import env_bool, env_choice, env_int, env_list, env_str
from srn.postgres import postgres_database
from srn.sqlite import sqlite_database

BASE_DIR = Path(__file__).resolve().parent.parent

PROFILE = env_choice("SRN_PROFILE", ("embedded", "production"), "embedded")
PRODUCTION = PROFILE == "production"
DATA_DIR = Path(env_str("SRN_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must not be true in the production profile.")


def _checked_secret_key(value: str) -> str:
    # The same bar as Django's security.W009, enforced at start instead of warned about.
    if len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY must be at least 50 characters of at least 5 distinct ones, "
            "and not a generated 'django-insecure-' key."
        )
    return value


if PRODUCTION:
    SECRET_KEY = _checked_secret_key(env_str("SECRET_KEY"))
    # Newest key first: it encrypts; every listed key decrypts (rotation).
    FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
    # Raw 32-byte Ed25519 private key, base64; kept apart from the database.
    AUDIT_SIGNING_KEY = env_str("AUDIT_SIGNING_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
else:
    _local = local_secrets.load_or_create(DATA_DIR / "local-secrets.json")
    SECRET_KEY = _local["SECRET_KEY"]
    FIELD_ENCRYPTION_KEYS = [_local["FIELD_ENCRYPTION_KEY"]]
    AUDIT_SIGNING_KEY = _local["AUDIT_SIGNING_KEY"]
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
    CSRF_TRUSTED_ORIGINS = env_list(
        "CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"]
    )

if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must name at least one Fernet key.")
try:
    if len(base64.b64decode(AUDIT_SIGNING_KEY, validate=True)) != 32:
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        "AUDIT_SIGNING_KEY must be a base64 raw 32-byte Ed25519 key."
    ) from None

# Origins a WebSocket may come from; by default the same as the CSRF-trusted ones.
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", CSRF_TRUSTED_ORIGINS)

# Proxies whose X-Forwarded-For we believe (their own address is REMOTE_ADDR).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "auditlog",
    # The second factor: TOTP devices and single-use recovery codes (agencies/mfa.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "audit",
    "agencies",
    "consent",
    "coordination",
    # the project: base templates, static files, error pages
    "srn",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "srn.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.context.RequestContextMiddleware",
    "consent.data_keys.KeyScopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "agencies.sessions.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "srn.errors.DomainErrorPageMiddleware",
]

# Pages load only their own static files and talk only to their own origin (the
# WebSocket included): an injected script or form target would be refused.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)

ROOT_URLCONF = "srn.urls"
ASGI_APPLICATION = "srn.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "agencies.web.context.navigation",
            ],
        },
    },
]

if PRODUCTION:
    # The data and the key store (consent/data_keys.py: the survivors' wrapped data
    # keys, in a database of its own, its backups kept briefly, so that an erasure
    # reaches the data's backups), each through a per-process pool (srn/postgres.py).
    _pool_size = env_int("DATABASE_POOL_SIZE", 10, minimum=0)
    DATABASES = {
        "default": postgres_database(env_str("DATABASE_URL"), pool_size=_pool_size),
        "keys": postgres_database(env_str("KEYS_DATABASE_URL"), pool_size=_pool_size),
    }
    if {DATABASES[a]["ENGINE"] for a in DATABASES} != {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured("DATABASE_URL and KEYS_DATABASE_URL must be PostgreSQL.")
    if len({(d.get("HOST"), d.get("PORT"), d["NAME"]) for d in DATABASES.values()}) == 1:
        raise ImproperlyConfigured("KEYS_DATABASE_URL must name another database.")
    from srn.channel_layer import redis_host  # here: the embedded profile has no Redis

    _redis_url = env_str("REDIS_URL")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Its timeouts, pool and connections: srn.channel_layer (docs/live.md).
            "CONFIG": {"hosts": [redis_host(_redis_url)], "prefix": env_str("REDIS_PREFIX", "srn")},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": env_str("REDIS_PREFIX", "srn"),
        }
    }
else:
    DATABASES = {
        "default": {
            **sqlite_database(DATA_DIR / "db.sqlite3"),
            # A file, not shared-cache memory: concurrency tests then lock as the real
            # database does (shared-cache tables fail at once instead of waiting).
            "TEST": {"NAME": str(DATA_DIR / "test-db.sqlite3")},
        },
        # The key store: its own file, never in WAL mode (an overwritten key must not
        # linger in a WAL file) and with secure_delete (its old page bytes are zeroed).
        "keys": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "keys.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=DELETE; PRAGMA secure_delete=ON;",
            },
            "TEST": {"NAME": str(DATA_DIR / "test-keys.sqlite3")},
        },
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The survivors' data keys live in the ``keys`` database, everything else in ``default``.
DATABASE_ROUTERS = ["consent.routers.KeyStoreRouter"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The staff pages are in English; the survivor's disclosure report is also in Spanish
# (coordination/locale/), chosen per survivor with ``translation.override``.
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # finders serve; the root just exists

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- sessions, cookies and transport security ---------------------------------------
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# A browser session ends after this long without a request of the member's own (live
# updates and the page's background refreshes do not count), and this long after
# sign-in however active (agencies/sessions.py).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15 if PRODUCTION else 60, minimum=2)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    # TLS ends at the proxy (deploy/nginx); it says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# The largest body any page or API call accepts (413 beyond it); the largest legitimate
# one, a referral with a 20,000-character narrative, is well under 200 KB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- second factor (agencies/mfa.py) -------------------------------------------------
# Every member must sign in with a TOTP code (or a recovery code) when this is on; a
# member without a factor enrols one before their first session completes.
MFA_REQUIRED = env_bool("MFA_REQUIRED", default=PRODUCTION)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = "Safe Referral Network"
# Wrong codes count against the one sign-in limiter (agencies/signin.py), per account and
# address; django-otp's own per-device delays would be a second, unaudited limiter.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# --- REST API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agencies.authentication.OwnTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every endpoint needs an active member of an active agency
    # unless it says otherwise.
    "DEFAULT_PERMISSION_CLASSES": ["agencies.permissions.IsActiveMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser, bounded in size (DATA_UPLOAD_MAX_MEMORY_SIZE) and nesting.
    "DEFAULT_PARSER_CLASSES": ["srn.parsers.BoundedJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "srn.pagination.SelectorOrderCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "srn.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": env_str("THROTTLE_AUTH_TOKEN", "10/min"),
        "ws_ticket": env_str("THROTTLE_WS_TICKET", "30/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": None,
    # ?format= is ours (audit export), not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
    # No OPTIONS metadata (405): /api/schema/ describes the API, and every method a
    # view answers is one audited access.
    "DEFAULT_METADATA_CLASS": None,
}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(seconds=env_int("API_TOKEN_TTL_SECONDS", 8 * 3600, minimum=60)),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": None,
}
# drf-spectacular: the API description (plain data, srn/schema_settings.py).
SPECTACULAR_SETTINGS = schema_settings.SPECTACULAR_SETTINGS

# --- domain ------------------------------------------------------------------------
CONSENT_MAX_DAYS = env_int("CONSENT_MAX_DAYS", 365, minimum=1)
# Emergency access (break-glass): a network may switch it off; each opening lasts this
# many hours, at most a day.
EMERGENCY_ACCESS_ENABLED = env_bool("EMERGENCY_ACCESS_ENABLED", default=True)
EMERGENCY_ACCESS_HOURS = env_int("EMERGENCY_ACCESS_HOURS", 4, minimum=1)
if EMERGENCY_ACCESS_HOURS > 24:
    raise ImproperlyConfigured("EMERGENCY_ACCESS_HOURS must be at most 24.")

# PII of a survivor whose referrals all closed longer ago than this is erased
# (``manage.py apply_retention``); seven years by default.
RETENTION_DAYS = env_int("RETENTION_DAYS", 2555, minimum=1)
WS_TICKET_TTL_SECONDS = 60
# Live sockets: a heartbeat (and credential re-check) this often, below proxies' idle
# timeouts; a socket that has not said hello within the timeout is closed.
WS_HEARTBEAT_SECONDS = env_int("WS_HEARTBEAT_SECONDS", 25, minimum=1)
WS_HELLO_TIMEOUT_SECONDS = env_int("WS_HELLO_TIMEOUT_SECONDS", 10, minimum=1)
# Public keys (hex) of earlier audit signing keys whose checkpoints still count.
AUDIT_TRUSTED_PUBLIC_KEYS = env_list("AUDIT_TRUSTED_PUBLIC_KEYS", [])
# The sealer signs a checkpoint on its own every N entries, or after this many seconds
# when the head moved; each is appended to the export file (keep it off the database
# host in production), which verify_audit reads by default.
AUDIT_CHECKPOINT_EVERY_ENTRIES = env_int("AUDIT_CHECKPOINT_EVERY_ENTRIES", 1000, minimum=1)
AUDIT_CHECKPOINT_EVERY_SECONDS = env_int("AUDIT_CHECKPOINT_EVERY_SECONDS", 300, minimum=1)
AUDIT_CHECKPOINT_EXPORT = env_str(
    "AUDIT_CHECKPOINT_EXPORT", str(DATA_DIR / "audit-checkpoints.jsonl")
)
# Access alerts (audit/alert_watch.py), per member and clock hour; 0 turns a rule off.
ALERT_SURVIVORS_PER_HOUR = env_int("ALERT_SURVIVORS_PER_HOUR", 20, minimum=0)  # more than
ALERT_REFUSALS_PER_HOUR = env_int("ALERT_REFUSALS_PER_HOUR", 5, minimum=0)  # this many
ALERT_OUTSIDE_HOURS_READS = env_int("ALERT_OUTSIDE_HOURS_READS", 1, minimum=0)  # this many
ALERT_EMERGENCY_ACCESS = env_bool("ALERT_EMERGENCY_ACCESS", default=True)

# --- email: invitation and password-reset links (never survivor data) ----------------
if PRODUCTION:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    # Default: the host's own mail relay.
    EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"noreply@{ALLOWED_HOSTS[0]}")
else:
    # One file per message under var/mail/: the embedded demo sends nothing out.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")
    DEFAULT_FROM_EMAIL = "Safe Referral Network <noreply@localhost>"
EMAIL_TIMEOUT = 10
# Links in emails start here: the first trusted origin (the public https:// address).
SITE_URL = CSRF_TRUSTED_ORIGINS[0].rstrip("/") if CSRF_TRUSTED_ORIGINS else "http://localhost:8000"
# How long an invitation or password-reset link works.
INVITATION_TTL_HOURS = 72

# --- logging: structured enough to grep, never a request body -----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs the full request on errors; our handler logs a request id instead.
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
CSRF_FAILURE_VIEW = "srn.errors.csrf_failure"

# --- django-auditlog: field diffs of the domain models, PII fields excluded -----------
# (registered in each app's ready(); who/where stamped by audit.field_changes)
AUDITLOG_CID_GETTER = "audit.context.current_request_id"
