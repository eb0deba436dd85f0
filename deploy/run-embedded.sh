#!/usr/bin/env bash
# The README run command: install, migrate, seed the demo data and serve the embedded
# profile (SQLite under var/, in-memory channel layer, secrets generated into var/)
# on http://127.0.0.1:${PORT:-8000}. Needs no environment variables.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

PORT=${PORT:-8000}
case "$PORT" in
    '' | *[!0-9]*)
        echo "PORT must be a number, not '$PORT'." >&2
        exit 2
        ;;
esac

# This script always runs the embedded profile, whatever the shell has exported.
unset SRN_PROFILE
# The browser's origin on this port: CSRF and the WebSocket's origin check trust it.
export CSRF_TRUSTED_ORIGINS=${CSRF_TRUSTED_ORIGINS:-http://127.0.0.1:$PORT,http://localhost:$PORT}

export PIP_DISABLE_PIP_VERSION_CHECK=1

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is required as python3 (found $(python3 --version 2>&1))." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    # Debian's python3 lacks venv/ensurepip until python3-venv is installed.
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                python3-venv </dev/null
        else
            echo "python3 cannot create a venv: install python3-venv (apt-get install python3-venv)." >&2
            exit 1
        fi
    fi
    python3 -m venv --clear .venv
fi
.venv/bin/pip install -q -e . </dev/null

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py migrate --database keys --noinput
.venv/bin/python manage.py seed_demo

echo "Serving on http://127.0.0.1:$PORT/ (API docs: http://127.0.0.1:$PORT/api/docs/)"
exec .venv/bin/daphne -b 127.0.0.1 -p "$PORT" srn.asgi:application
