#!/bin/sh
# Collect (and pre-compress) the static files into $STATIC_ROOT at image build time.
#
# The production profile refuses to start without its secrets, so this gives it
# throw-away ones generated here and never stored: collectstatic touches neither the
# database nor Redis, and no value from this run ends up in the image.
set -eu
PYTHON=${PYTHON:-python}
: "${STATIC_ROOT:?STATIC_ROOT must name the directory to collect into}"
SECRET_KEY=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(64))')
FIELD_ENCRYPTION_KEYS=$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
AUDIT_SIGNING_KEY=$("$PYTHON" -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')
export SECRET_KEY FIELD_ENCRYPTION_KEYS AUDIT_SIGNING_KEY
export SRN_PROFILE=production DJANGO_SETTINGS_MODULE=srn.settings \
    DATABASE_URL=postgres://build@127.0.0.1:1/unused KEYS_DATABASE_URL=postgres://build@127.0.0.1:1/unused-keys \
    REDIS_URL=redis://127.0.0.1:1/0 \
    ALLOWED_HOSTS=build.invalid CSRF_TRUSTED_ORIGINS=https://build.invalid
exec "$PYTHON" -m django collectstatic --noinput --verbosity 1
