"""The publish stream's lines above the control plane: a stage line per call as it is
made, then the result, a GaiaError's usual body, or an internal error naming the request."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.admin.stages import Run, stage_stream, wants_stages
from gateway.control import StageDone
from gateway.errors import Conflict
from gateway.wire import NDJSON


def _app(run: Run) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return stage_stream(run, request_id="admin-1")

    return Starlette(routes=[Route("/", endpoint, methods=["POST"])])


async def _lines(run: Run) -> list[dict[str, object]]:
    transport = httpx.ASGITransport(app=_app(run))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        response = await client.post("/")
    assert response.headers["content-type"] == NDJSON
    return [json.loads(line) for line in response.text.splitlines()]


async def test_each_stage_is_a_line_then_the_result() -> None:
    async def run(on_stage: StageDone) -> dict[str, object]:
        on_stage("store", 1.5)
        await asyncio.sleep(0)
        on_stage("warm", 20.25)
        return {"name": "fn@1"}

    assert await _lines(run) == [
        {"stage": "store", "ms": 1.5},
        {"stage": "warm", "ms": 20.25},
        {"name": "fn@1"},
    ]


async def test_an_error_ends_the_stream_with_its_usual_body() -> None:
    async def conflict(on_stage: StageDone) -> dict[str, object]:
        on_stage("store", 1.0)
        raise Conflict("someone else changed it", field="alias")

    async def bug(on_stage: StageDone) -> dict[str, object]:
        raise RuntimeError("a bug")

    assert (await _lines(conflict))[1:] == [
        {
            "error": "conflict",
            "message": "someone else changed it",
            "field": "alias",
            "request_id": "admin-1",
        }
    ]
    [internal] = await _lines(bug)
    assert internal["error"] == "internal_error"
    assert "admin-1" in str(internal["message"]) and "a bug" not in str(internal["message"])


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        ("application/x-ndjson", True),
        ("application/json, application/x-ndjson;q=0.9", True),
        ("application/json", False),
        ("", False),
        ("application/x-ndjsonish", False),
    ],
)
def test_only_a_client_that_asks_gets_the_stream(accept: str, wanted: bool) -> None:
    scope = {"type": "http", "headers": [(b"accept", accept.encode())] if accept else []}
    assert wants_stages(Request(scope)) is wanted
