"""A whole ASGI 3 app as a function (`interface: asgi`): each HTTP invocation is one
`http` request to the app, and its lifespan runs once per worker, when it is loaded.

The scope is what bare uvicorn gives the same request (no `--root-path`): the whole path
as the client sent it (`path` decoded, `raw_path` as sent), `root_path` "", the query
string and the headers (names lower-case, repeats kept, in order) unchanged. A route
pattern that is a prefix (`/shop/{rest:path}`) is not stripped: the app sees `/shop/...`,
as it did when it served those paths itself, which is what moving routes over needs.

Nothing streams: the gateway reads the whole request body before it invokes, and an
invocation's answer is one Reply frame. The app gets its body in one `http.request`
message, and the `http.response.body` messages it sends are joined into one body, sent
once the app has finished its response. Only then does `receive()` answer
`http.disconnect`, as uvicorn's does after a complete response.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from runtime_adapters.python.events import Context
from runtime_adapters.python.protocol import Headers, HttpEvent

Message = dict[str, Any]
Response = tuple[int, Headers, bytes]
_ASGI = {"version": "3.0", "spec_version": "2.4"}


class LifespanFailed(Exception):
    """The app answered `lifespan.startup.failed`."""


class AsgiApp:
    """Calls the app per invocation; `startup` and `shutdown` drive its lifespan."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        # Lifespan state (ASGI's state extension): each request gets a shallow copy.
        self.state: dict[str, Any] = {}
        self._lifespan = _Lifespan(app, self.state)

    async def startup(self) -> None:
        await self._lifespan.startup()

    async def shutdown(self) -> None:
        await self._lifespan.shutdown()

    async def __call__(self, event: object, context: Context) -> Response:
        if type(event) is not HttpEvent:
            raise TypeError("an ASGI app answers HTTP triggers only, not queue or cron events")
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": event.method,
            "scheme": "http",
            "path": event.path,
            "raw_path": event.raw_path or quote(event.path).encode("ascii"),
            "query_string": event.query_string,
            "root_path": "",
            "headers": event.headers,
            "client": None,
            "server": None,
            "state": self.state.copy(),
            "gaia.context": context,
        }
        exchange = _Exchange(event.body)
        await self.app(scope, exchange.receive, exchange.send)
        return exchange.response()


class _Exchange:
    """One request's receive and send, and the response the app built with them."""

    __slots__ = ("_body", "_chunks", "_done", "_headers", "_status")

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body
        self._status: int | None = None
        self._headers: Headers = []
        self._chunks: list[bytes] = []
        self._done: asyncio.Event | None = None

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        if self._done is None:
            self._done = asyncio.Event()
        await self._done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self._status is not None:
                raise RuntimeError("the ASGI app sent http.response.start twice")
            self._status = int(message["status"])
            # Lower-case names, as uvicorn writes them anyway (and the gateway looks for its own).
            self._headers = [(bytes(n).lower(), bytes(v)) for n, v in message.get("headers", ())]
        elif kind == "http.response.body":
            if self._status is None:
                raise RuntimeError("the ASGI app sent a body before http.response.start")
            if self._done is not None and self._done.is_set():
                raise RuntimeError("the ASGI app sent a body after its response was complete")
            body = message.get("body", b"")
            if body:
                self._chunks.append(bytes(body))
            if not message.get("more_body", False):
                if self._done is None:
                    self._done = asyncio.Event()
                self._done.set()
        else:
            raise RuntimeError(f"the ASGI app sent an unexpected {kind!r} message")

    def response(self) -> Response:
        if self._status is None:
            raise RuntimeError("the ASGI app returned without sending a response")
        if self._done is None or not self._done.is_set():
            raise RuntimeError("the ASGI app returned before its response body was complete")
        body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        return self._status, self._headers, body


class _Lifespan:
    """The `lifespan` scope: startup when the worker loads, shutdown when it is stopped.

    An app that raises before it has received `lifespan.startup` does not speak the
    protocol (Django's ASGI handler refuses any scope but `http`): the lifespan is
    skipped, as uvicorn's `--lifespan auto` does. Once it has received the startup event,
    an exception or `lifespan.startup.failed` fails the load.
    """

    def __init__(self, app: Callable[..., Any], state: dict[str, Any]) -> None:
        self._app = app
        self._state = state
        self._events: asyncio.Queue[Message] | None = None
        self._received = False
        self._started: asyncio.Future[None] | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        self._events = asyncio.Queue()
        self._started, self._stopped = loop.create_future(), loop.create_future()
        self._events.put_nowait({"type": "lifespan.startup"})
        self._task = loop.create_task(self._run())
        await self._started

    async def shutdown(self) -> None:
        if self._events is None or self._stopped is None or self._stopped.done():
            return
        self._events.put_nowait({"type": "lifespan.shutdown"})
        await self._stopped

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self._state}
        try:
            await self._app(scope, self._receive, self._send)
        except BaseException as exc:
            if not self._received:
                print("ASGI 'lifespan' protocol appears unsupported.", file=sys.stderr)
                _settle(self._started)
            else:
                _settle(self._started, exc)
            _settle(self._stopped)
        else:
            _settle(self._started)
            _settle(self._stopped)

    async def _receive(self) -> Message:
        assert self._events is not None
        message = await self._events.get()
        self._received = True
        return message

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            _settle(self._started)
        elif kind == "lifespan.startup.failed":
            _settle(self._started, LifespanFailed(_failure(message, "startup")))
        elif kind == "lifespan.shutdown.complete":
            _settle(self._stopped)
        elif kind == "lifespan.shutdown.failed":
            print(_failure(message, "shutdown"), file=sys.stderr)
            _settle(self._stopped)
        else:
            raise RuntimeError(f"the ASGI app sent an unexpected {kind!r} lifespan message")


def _failure(message: Message, stage: str) -> str:
    said = message.get("message") or ""
    return f"ASGI lifespan {stage} failed" + (f": {said}" if said else "")


def _settle(future: asyncio.Future[None] | None, error: BaseException | None = None) -> None:
    if future is None or future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
