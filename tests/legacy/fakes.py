"""In-memory stand-ins for the old API (`ports.Proxy`) and the functions
(`ports.FunctionCaller`), for unit tests of the code above those seams, and a way to call
an ASGI-style legacy router and read what the client got."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Message, Receive, Send

from gateway.http.splice import RequestHead, Splice
from legacy.done import SpliceDone
from legacy.ports import (
    CapturedResponse,
    ForwardOutcome,
    FunctionAnswer,
    FunctionUnavailable,
    ProxiedRequest,
    UpstreamError,
)

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, kw_only=True)
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: Headers = field(default_factory=lambda: [(b"content-type", b"application/json")])


def json_answer(data: object, status: int = 200) -> Answer:
    return Answer(status=status, body=json.dumps(data).encode())


OldApi = Callable[[ProxiedRequest, bytes], Answer]


@dataclass(frozen=True, kw_only=True)
class Asked:
    request: ProxiedRequest
    body: bytes
    how: str  # "forward" (a client waits) or "fetch" (a second ask, for noise)


class FakeProxy:
    """The old API: `answer(request, body)` decides; every ask is recorded. `down` makes
    it answer 502 as the real proxy does for an unreachable upstream."""

    def __init__(self, answer: OldApi) -> None:
        self.answer = answer
        self.asked: list[Asked] = []
        self.down = False

    async def forward(
        self,
        request: ProxiedRequest,
        receive: Receive,
        send: Send,
        *,
        body: bytes | None = None,
        capture_limit: int = 0,
    ) -> ForwardOutcome:
        if body is None:
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
        self.asked.append(Asked(request=request, body=body, how="forward"))
        if self.down:
            await _send(send, 502, [], b'{"error": "upstream_unreachable"}')
            return ForwardOutcome(
                status=502,
                upstream="main",
                failure="upstream_unreachable",
                duration_s=0.001,
                captured=None,
            )
        answer = self.answer(request, body)
        await _send(send, answer.status, answer.headers, answer.body)
        captured = None
        if capture_limit:
            captured = CapturedResponse(
                status=answer.status,
                headers=answer.headers,
                body=answer.body if len(answer.body) <= capture_limit else None,
                duration_s=0.002,
            )
        return ForwardOutcome(
            status=answer.status, upstream="main", failure=None, duration_s=0.002, captured=captured
        )

    async def fetch(self, request: ProxiedRequest, *, body: bytes, limit: int) -> CapturedResponse:
        self.asked.append(Asked(request=request, body=body, how="fetch"))
        if self.down:
            raise UpstreamError("down", status=502, reason="upstream_unreachable")
        answer = self.answer(request, body)
        return CapturedResponse(
            status=answer.status,
            headers=answer.headers,
            body=answer.body if len(answer.body) <= limit else None,
            duration_s=0.002,
        )

    def splice(self, head: RequestHead, done: SpliceDone, capture_limit: int) -> Splice | None:
        # No protocol to splice in: the router's ASGI path serves every request.
        return None

    async def aclose(self) -> None:
        return None

    def forwarded(self) -> list[Asked]:
        return [a for a in self.asked if a.how == "forward"]


Behaviour = Callable[[ProxiedRequest, bytes, Mapping[str, str]], Awaitable[Answer]]


@dataclass(frozen=True, kw_only=True)
class Called:
    target: str
    request: ProxiedRequest
    body: bytes
    params: Mapping[str, str]


class FakeFunctions:
    """Functions: `behave` answers (or raises FunctionUnavailable); the sticky key is the
    `x-user` header when `sticky` is set."""

    def __init__(self, behave: Behaviour, *, sticky: bool = False) -> None:
        self.behave = behave
        self.sticky = sticky
        self.calls: list[Called] = []

    def sticky_key(self, target: str, request: ProxiedRequest) -> str | None:
        if not self.sticky:
            return None
        return next((v.decode() for k, v in request.headers if k == b"x-user"), None)

    async def call(
        self,
        target: str,
        request: ProxiedRequest,
        body: bytes,
        *,
        params: Mapping[str, str] | None = None,
    ) -> FunctionAnswer:
        self.calls.append(Called(target=target, request=request, body=body, params=params or {}))
        answer = await self.behave(request, body, params or {})
        return FunctionAnswer(
            response=CapturedResponse(
                status=answer.status, headers=answer.headers, body=answer.body, duration_s=0.004
            ),
            revision=f"{target.partition(':')[0]}@1",
        )


def unavailable(status: int = 500) -> Behaviour:
    async def behave(request: ProxiedRequest, body: bytes, params: Mapping[str, str]) -> Answer:
        raise FunctionUnavailable(
            "the function raised an exception",
            status=status,
            reason="function_error",
            headers=[(b"x-gaia-revision", b"items@1")],
        )

    return behave


def answering(answer: Answer) -> Behaviour:
    async def behave(request: ProxiedRequest, body: bytes, params: Mapping[str, str]) -> Answer:
        return answer

    return behave


async def _send(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True, kw_only=True)
class Seen:
    """What the client got."""

    status: int
    headers: dict[str, str]
    body: bytes
    returned: int

    def json(self) -> Any:
        return json.loads(self.body)


Router = Callable[[dict[str, object], Receive, Send, str], Awaitable[int]]


async def call(
    router: Router,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: Headers | None = None,
    query: bytes = b"",
    chunks: int = 1,
    request_id: str = "rid-1",
) -> Seen:
    """One request through the router, its body in `chunks` ASGI messages."""
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # a client that sent everything waits for the answer
        raise AssertionError("unreachable")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, object] = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": headers or [],
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "http_version": "1.1",
    }
    returned = await router(scope, receive, send, request_id)
    start = sent[0]
    return Seen(
        status=start["status"],
        headers={k.decode(): v.decode() for k, v in start["headers"]},
        body=b"".join(m.get("body", b"") for m in sent[1:]),
        returned=returned,
    )
