from __future__ import annotations

import stat
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.admin.auth import BearerAuth, ensure_token


def test_token_is_created_once_and_private(tmp_path: Path) -> None:
    token = ensure_token(tmp_path / "home")
    path = tmp_path / "home" / "admin-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 32
    assert ensure_token(tmp_path / "home") == token


async def test_only_the_right_bearer_token_passes() -> None:
    async def secret(request: Request) -> PlainTextResponse:
        return PlainTextResponse("secret")

    app = BearerAuth(
        Starlette(routes=[Route("/v1/x", secret), Route("/healthz", secret)]), token="t0k"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://admin"
    ) as client:
        assert (await client.get("/v1/x")).status_code == 401
        assert (
            await client.get("/v1/x", headers={"authorization": "Bearer nope"})
        ).status_code == 401
        assert (await client.get("/v1/x", headers={"authorization": "t0k"})).status_code == 401
        ok = await client.get("/v1/x", headers={"authorization": "Bearer t0k"})
        assert (ok.status_code, ok.text) == (200, "secret")
        assert (await client.get("/healthz")).status_code == 200
