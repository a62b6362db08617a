"""`LegacyProxy.forward` and `fetch` against scripted raw servers: what the client is sent
and what the caller learns, when the old API answers, fails before or after its answer
began, or answers longer than the capture limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest

from httpkit.client import Origin
from legacy.config import LegacyConfig
from legacy.ports import ForwardOutcome, ProxiedRequest, UpstreamError
from legacy.proxy import build_proxy
from tests.httpkit.test_client import RawServer

Message = dict[str, Any]


def _request() -> ProxiedRequest:
    return ProxiedRequest(
        method="GET",
        path="/a",
        raw_path=b"/a",
        query_string=b"q=1",
        headers=[(b"host", b"api.example.com")],
        client=("10.0.0.1", 5000),
        scheme="http",
        http_version="1.1",
        request_id="rid-1",
    )


async def _forward(origin: Origin, capture_limit: int = 0) -> tuple[ForwardOutcome, list[Message]]:
    proxy = build_proxy(
        LegacyConfig.model_validate({"upstream": f"http://127.0.0.1:{origin.port}"})
    )
    sent: list[Message] = []

    bodies = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        # As an ASGI server does: the body, then nothing until the client leaves.
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    outcome = await proxy.forward(_request(), receive, send, capture_limit=capture_limit)
    await proxy.aclose()
    return outcome, sent


async def test_an_answer_is_passed_on_and_captured_up_to_the_limit() -> None:
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello"
    async with RawServer(lambda n: [answer]) as origin:
        outcome, sent = await _forward(origin, capture_limit=5)
        over, _ = await _forward(origin, capture_limit=4)
    assert sent[0]["status"] == 201
    assert sent[0]["headers"] == [
        (b"content-length", b"5"),
        (b"x-a", b"1"),
        (b"x-request-id", b"rid-1"),
    ]
    assert sent[1:] == [{"type": "http.response.body", "body": b"hello", "more_body": False}]
    assert (outcome.status, outcome.upstream, outcome.failure) == (201, "default", None)
    assert outcome.captured is not None and outcome.captured.body == b"hello"
    assert over.captured is not None and over.captured.body is None


async def test_a_short_answer_cut_before_its_end_is_still_a_clean_502() -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    async with RawServer(lambda n: [cut], close_after=True) as origin:
        outcome, sent = await _forward(origin)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 502
    body = json.loads(sent[1]["body"])
    assert (body["error"], body["request_id"]) == ("upstream_unreachable", "rid-1")
    assert (outcome.status, outcome.failure, outcome.captured) == (
        502,
        "upstream_unreachable",
        None,
    )


async def test_a_long_answer_cut_mid_body_is_left_unfinished() -> None:
    size = 1024 * 1024
    cut = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + b"x" * 1000
    async with RawServer(lambda n: [cut], close_after=True) as origin:
        outcome, sent = await _forward(origin, capture_limit=size)
    assert sent[0]["status"] == 200
    # No message ends the body: the server cuts the client's connection instead.
    assert all(m["more_body"] for m in sent[1:])
    assert (outcome.status, outcome.failure, outcome.captured) == (
        200,
        "upstream_unreachable",
        None,
    )


async def test_fetch_reads_the_whole_answer_up_to_the_limit_and_raises_when_down() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with RawServer(lambda n: [answer]) as origin:
        url = f"http://127.0.0.1:{origin.port}"
        proxy = build_proxy(LegacyConfig.model_validate({"upstream": url}))
        whole = await proxy.fetch(_request(), body=b"", limit=2)
        over = await proxy.fetch(_request(), body=b"", limit=1)
        await proxy.aclose()
    assert (whole.status, whole.body, over.body) == (200, b"ok", None)
    proxy = build_proxy(LegacyConfig.model_validate({"upstream": url}))
    with pytest.raises(UpstreamError) as down:
        await proxy.fetch(_request(), body=b"", limit=10)
    await proxy.aclose()
    assert (down.value.status, down.value.reason) == (502, "upstream_unreachable")
