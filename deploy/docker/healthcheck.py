"""Container health check: GET /readyz on the local Daphne (database + channel layer).

Sends what nginx would: a Host from ALLOWED_HOSTS (Django refuses any other) and
X-Forwarded-Proto: https (otherwise the production profile redirects to HTTPS).
Exit 0 when ready, 1 otherwise. Standard library only.
"""

import os
import sys
import urllib.error
import urllib.request


def host() -> str:
    for entry in os.environ.get("ALLOWED_HOSTS", "").split(","):
        entry = entry.strip().lstrip(".")
        if entry and entry != "*":
            return entry
    return "localhost"


def main() -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/readyz",
        headers={"Host": host(), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (fixed URL)
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"not ready: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
