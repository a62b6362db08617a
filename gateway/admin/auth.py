"""The admin bearer token: created on first start, mode 0600, compared in constant time."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.admin.request_ids import request_id_of
from gateway.home import TOKEN_FILE
from gateway.ui import assets

# Probes, the API description and the dashboard's files (which ask for the token) are
# readable without a token; everything else is not.
_OPEN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json"})


def ensure_token(home: Path) -> str:
    path = home / TOKEN_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two gateways starting on one GAIA_HOME must not overwrite each other's token.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as file:
        file.write(token + "\n")
    return token


class BearerAuth:
    """ASGI middleware: 401 unless `Authorization: Bearer <token>` matches."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if scope["type"] != "http" or path in _OPEN_PATHS or assets.is_open(path):
            await self._app(scope, receive, send)
            return
        supplied = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                supplied = value
                break
        if hmac.compare_digest(supplied, self._expected):
            await self._app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": "unauthorized",
                "message": "missing or wrong bearer token: "
                "send Authorization: Bearer <token from GAIA_HOME/admin-token>",
                "request_id": request_id_of(scope),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="gaia"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
