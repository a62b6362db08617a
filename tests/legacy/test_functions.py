"""A ledger route's function answers exactly as an HTTP trigger on the same function
would: the data plane and the legacy router, side by side, on the same requests."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable

import httpx
import pytest

from gateway.accesslog import JsonLines
from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.dataplane import DataPlane
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from legacy.discovery.table import DiscoveryTable
from legacy.evidence import EvidenceBook
from legacy.functions import InvokerFunctions
from legacy.handover import TrackedProxy
from legacy.ports import ProxiedRequest
from legacy.router import LegacyRouter
from legacy.shadow import ShadowPool
from runtime_adapters.base import Invocation, InvocationResult, PoolSaturated, RevisionSpec
from runtime_adapters.memory import MemoryRuntime
from tests.legacy.fakes import FakeProxy, Seen, call, json_answer
from tests.legacy.stage import legacy_config

Parse = Callable[..., GaiaFile]

CONFIG = """
functions:
  items:
    code: ./items
    timeout: 200ms
    aliases:
      prod:
        traffic: TRAFFIC
        sticky: header:x-user
    triggers:
      - http: {path: "/items/{id}", alias: prod}
"""


async def _behave(invocation: Invocation, spec: RevisionSpec) -> object:
    event = invocation.event
    assert not isinstance(event, dict)
    name = event.params["id"]
    if name == "boom":
        raise RuntimeError("kaboom")
    if name == "slow":
        await asyncio.sleep(5)
    if name == "busy":
        raise PoolSaturated("too busy", reason="queue_full", retry_after_s=3)
    return InvocationResult(
        status=201,
        headers=[(b"content-type", b"application/json"), (b"x-extra", b"1")],
        body=json.dumps(
            {
                "method": event.method,
                "path": event.path,
                "params": event.params,
                "query": event.query_string.decode(),
                "body": event.body.decode(),
                "alias": invocation.alias,
                "trigger": invocation.trigger,
                "revision": spec.revision,
            }
        ).encode(),
    )


@pytest.fixture
async def both(
    control: ControlPlane, runtime: MemoryRuntime, gaia_file: Parse
) -> tuple[DataPlane, LegacyRouter, InvokerFunctions]:
    runtime.handlers["main.handler"] = _behave
    first = "[{revision: latest, percent: 100}]"
    await control.apply(gaia_file(CONFIG.replace("TRAFFIC", first), code={"items": "x = 1"}))
    split = "[{revision: 1, percent: 50, tag: one}, {revision: 2, percent: 50}]"
    await control.apply(gaia_file(CONFIG.replace("TRAFFIC", split), code={"items": "x = 2"}))
    invoker = Invoker(control=control, metrics=Metrics())
    data_plane = DataPlane(control=control, invoker=invoker, access_log=JsonLines(io.BytesIO()))
    functions = InvokerFunctions(control=control, invoker=invoker)
    proxy = FakeProxy(lambda request, body: json_answer({"from": "old"}))
    config = legacy_config(
        [{"path": "/items/{id}", "methods": ["POST"], "function": "items:prod", "state": "retired"}]
    )
    router = LegacyRouter(
        config=config,
        proxy=TrackedProxy(proxy),
        functions=functions,
        book=EvidenceBook(DiscoveryTable()),
        shadow=ShadowPool(
            settings=config.shadow,
            proxy=proxy,
            functions=functions,
        ),
        body_limit=10 * 1024 * 1024,
    )
    return data_plane, router, functions


def _comparable(status: int, headers: dict[str, str], body: bytes) -> tuple[object, ...]:
    request_id = headers.pop("x-request-id")
    # The two request ids differ in length, so the lengths are checked, then left out.
    assert headers.pop("content-length") == str(len(body))
    return status, headers, body.decode().replace(request_id, "RID")


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/items/1?q=a%20b", {"x-user": "ada"}),
        ("/items/2", {"x-user": "bob"}),
        ("/items/2", {"x-gaia-tag": "one"}),
        ("/items/2", {"x-gaia-tag": "nope"}),
        # Sticky, so both sides pick the same revision.
        ("/items/boom", {"x-user": "eve"}),
        ("/items/slow", {"x-user": "eve"}),
        ("/items/busy", {"x-user": "eve"}),
    ],
)
async def test_the_router_answers_as_the_http_trigger_does(
    both: tuple[DataPlane, LegacyRouter, InvokerFunctions], path: str, headers: dict[str, str]
) -> None:
    data_plane, router, _ = both
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=data_plane), base_url="http://gw"
    ) as http:
        trigger = await http.post(path, headers=headers, content=b"payload")
    route, _, query = path.partition("?")
    seen: Seen = await call(
        router,
        "POST",
        route,
        query=query.encode(),
        body=b"payload",
        headers=[(b"host", b"gw"), *((k.encode(), v.encode()) for k, v in headers.items())],
    )
    expected = _comparable(
        trigger.status_code,
        {k: v for k, v in trigger.headers.items()},
        trigger.content,
    )
    assert _comparable(seen.status, dict(seen.headers), seen.body) == expected


async def test_the_sticky_key_is_the_alias_s(
    both: tuple[DataPlane, LegacyRouter, InvokerFunctions],
) -> None:
    _, _, functions = both
    request = ProxiedRequest(
        method="GET",
        path="/items/1",
        raw_path=b"/items/1",
        query_string=b"",
        headers=[(b"x-user", b"ada")],
        client=None,
        scheme="http",
        http_version="1.1",
        request_id="r",
    )
    assert functions.sticky_key("items:prod", request) == "ada"
    assert functions.sticky_key("items", request) is None
    assert functions.sticky_key("missing:prod", request) is None
