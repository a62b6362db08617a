"""The admin app's own answers, above the routes: request ids, unexpected errors, OPTIONS."""

from __future__ import annotations

from typing import cast

import httpx
from starlette.requests import Request
from starlette.responses import Response

from gateway.admin.app import allow_header, build_admin_app
from gateway.admin.routes import AdminRoutes


class _Broken:
    """Routes (and groups of them, `migrate.status`) whose every endpoint fails the way
    a bug would."""

    def __init__(self, name: str = "routes") -> None:
        self._name = name

    def __getattr__(self, name: str) -> _Broken:
        return _Broken(name)

    async def __call__(self, request: Request) -> Response:
        raise RuntimeError(f"{self._name} is broken")


async def test_an_unexpected_error_is_a_json_500_with_the_request_id() -> None:
    app = build_admin_app(cast(AdminRoutes, _Broken()), token="t0k")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        response = await client.get("/healthz")
        unauthorized = await client.get("/v1/status")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal_error"
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["request_id"] in body["message"]
    assert "broken" not in response.text  # the cause goes to the log only
    assert unauthorized.status_code == 401
    assert unauthorized.json()["request_id"] == unauthorized.headers["x-request-id"]
    assert unauthorized.headers["x-request-id"] != response.headers["x-request-id"]


def test_allow_lists_head_with_get_and_options_everywhere() -> None:
    assert allow_header(["GET", "PUT"]) == "GET, HEAD, OPTIONS, PUT"
    assert allow_header(["POST"]) == "OPTIONS, POST"
