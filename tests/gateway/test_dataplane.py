"""The data plane's HTTP behaviour over the in-memory runtime."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from gateway.accesslog import JsonLines
from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.dataplane import DataPlane
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from runtime_adapters.base import Invocation, InvocationResult, RevisionSpec
from runtime_adapters.memory import MemoryRuntime

Parse = Callable[..., GaiaFile]

CONFIG = """
functions:
  api:
    code: ./api
    timeout: 200ms
    aliases:
      prod:
        traffic: [{revision: latest, percent: 100, tag: live}]
    triggers:
      - http: {path: "/items/{id}", methods: [GET]}
      - http: {path: /slow}
      - http: {path: /boom}
      - http: {path: /busy}
      - http: {path: /prod, alias: prod}
"""


async def _behave(invocation: Invocation, spec: RevisionSpec) -> object:
    event = invocation.event
    assert not isinstance(event, dict)
    if event.path == "/slow":
        await asyncio.sleep(5)
    if event.path == "/boom":
        raise RuntimeError("kaboom")
    return InvocationResult(
        status=200,
        headers=[(b"content-type", b"application/json")],
        body=json.dumps({"params": event.params, "body": event.body.decode()}).encode(),
    )


@pytest.fixture
async def client(
    control: ControlPlane, runtime: MemoryRuntime, gaia_file: Parse
) -> AsyncIterator[tuple[httpx.AsyncClient, io.BytesIO]]:
    runtime.handlers["main.handler"] = _behave
    await control.apply(gaia_file(CONFIG, code={"api": "x"}))
    log = io.BytesIO()
    app = DataPlane(
        control=control,
        invoker=Invoker(control=control, metrics=Metrics()),
        access_log=JsonLines(log),
        body_limit=1024,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as http:
        yield http, log


async def test_routes_to_the_function_with_params_and_revision_header(
    client: tuple[httpx.AsyncClient, io.BytesIO],
) -> None:
    http, log = client
    response = await http.get("/items/42")
    assert response.status_code == 200
    assert response.json()["params"] == {"id": "42"}
    assert response.headers["x-gaia-revision"] == "api@1"
    await asyncio.sleep(0)
    entry = json.loads(log.getvalue().splitlines()[-1])
    assert entry["request_id"] == response.headers["x-request-id"]
    assert (entry["route"], entry["function"], entry["revision"], entry["status"]) == (
        "/items/{id}",
        "api",
        1,
        200,
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "/nowhere", 404, "not_found"),
        ("POST", "/items/1", 405, "method_not_allowed"),
        ("GET", "/slow", 504, "timeout"),
        ("GET", "/boom", 500, "function_error"),
    ],
)
async def test_errors_are_json_with_the_request_id(
    client: tuple[httpx.AsyncClient, io.BytesIO], method: str, path: str, status: int, error: str
) -> None:
    http, _ = client
    response = await http.request(method, path)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["request_id"] == response.headers["x-request-id"]
    assert "kaboom" not in response.text


async def test_bodies_over_the_limit_are_refused_before_invoking(
    client: tuple[httpx.AsyncClient, io.BytesIO], runtime: MemoryRuntime
) -> None:
    http, _ = client
    calls = sum(len(p.invocations) for p in runtime.pools.values())
    response = await http.request("GET", "/items/1", content=b"x" * 1025)
    assert response.status_code == 413
    assert sum(len(p.invocations) for p in runtime.pools.values()) == calls
    assert (await http.request("GET", "/items/1", content=b"x" * 1024)).status_code == 200


async def test_a_full_pool_answers_503_with_retry_after(
    client: tuple[httpx.AsyncClient, io.BytesIO], runtime: MemoryRuntime
) -> None:
    http, _ = client
    runtime.capacity = 0
    response = await http.get("/busy")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


async def test_tags_pin_a_revision_and_unknown_tags_are_404(
    client: tuple[httpx.AsyncClient, io.BytesIO],
) -> None:
    http, _ = client
    assert (await http.get("/prod", headers={"x-gaia-tag": "live"})).status_code == 200
    unknown = await http.get("/prod", headers={"x-gaia-tag": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_tag"
