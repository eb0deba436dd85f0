"""Settings of the bare project: ``startproject`` defaults, DRF token auth, DEBUG off.

The database is SQLite in WAL mode (the service's embedded profile's own definition,
``srn.sqlite``) in ``BARE_DATA_DIR``, or the PostgreSQL database of
``BARE_DATABASE_URL`` when the benchmark runs the production profile.
"""

import os
import secrets
from pathlib import Path

from srn.postgres import postgres_database
from srn.sqlite import sqlite_database

DATA_DIR = Path(os.environ.get("BARE_DATA_DIR", "var/bare"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Nothing to protect (no sessions are kept; tokens live in the database): a fresh key
# per process.
SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "rest_framework.authtoken",
    "bench.bare.referrals",
]

# Django's startproject middleware, unchanged.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bench.bare.urls"
ASGI_APPLICATION = "bench.bare.asgi.application"
TEMPLATES = []

if os.environ.get("BARE_DATABASE_URL"):
    # Connected as the service connects (a pool per process): the baseline is the stack
    # at its best, not a connection per request.
    DATABASES = {"default": postgres_database(os.environ["BARE_DATABASE_URL"], pool_size=10)}
else:
    DATABASES = {"default": sqlite_database(DATA_DIR / "db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
