"""Plain HTTP to a Daphne on loopback, as a client outside the service would speak it.

No Django imports: worker processes started with ``spawn`` import this module alone.
Every call answers (never raises): a refused or broken connection is status 0.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field

HTTPS_PROXY_HEADER = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front says


@dataclass
class Reply:
    status: int  # 0: no answer (refused, reset, timed out)
    body: dict | None = None
    headers: dict = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.status != 0


def call(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: dict | None = None,
    headers: dict | None = None,
    timeout: float = 30,
) -> Reply:
    sent = {**HTTPS_PROXY_HEADER, **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException):  # TimeoutError is an OSError
        return Reply(0)
    finally:
        connection.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return Reply(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})
