"""A request id for every admin request: in `x-request-id` and in every error body."""

from __future__ import annotations

import os
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestIds:
    """ASGI middleware: puts `request_id` in the scope's state and `x-request-id` on the
    response, so that errors, invocations and logs can name the request."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        # As on the data plane: a per-process random prefix and a counter.
        self._prefix = f"admin-{os.urandom(4).hex()}"
        self._counter = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        self._counter += 1
        request_id = f"{self._prefix}{self._counter:08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self._app(scope, receive, send_with_id)


def request_id_of(scope: Scope) -> str:
    state: dict[str, Any] = scope.get("state") or {}
    return str(state.get("request_id", ""))
