"""An `interface: asgi` worker's own HTTP/1.1 server, for the requests the gateway passes
straight to it (runtime_adapters/python/lease.py) instead of invoking it.

The listening socket is the gateway's: bound on the host in the runtime's private slots
dir and inherited by the sandboxed worker as a file descriptor, so the worker needs no
network namespace and no writable path to serve it. Each connection runs the app on the
worker's event loop, beside the frames of invoked requests, and a request reaches the app
as it would on bare uvicorn's httptools protocol (no `--root-path`, no proxy headers,
no Server or Date header), the lifespan's state included: the same scope, the same
`receive` and `send` (100-continue, flow control, pipelining, `http.disconnect`, the
same errors and logs). `client` and `server` stay None as on the invoked path: the peer
and the socket's host path are the gateway's. `scope["gaia.context"]` is the
invocation's `context`, from the request id and alias the gateway appends in
X-Gaia-Context (the app never sees that header: only the gateway's own, the last of
that name, is taken out; a client's passes as it came).

Why not uvicorn's protocol itself: only the gateway talks to this server, so what
uvicorn does per request for any client (its server-wide state, a keep-alive timer
re-armed per request, an Event per request, a lambda per response) is work the
worker can skip, and the worker's CPU per request is half of an ASGI request's
(bench.worker_instructions counts it beside bare uvicorn's).

Imported only when an ASGI app is loaded: a stem cell never pays for httptools.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import urllib.parse
from collections import deque
from time import monotonic
from typing import Any, cast

import httptools
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE, STATUS_LINE

from runtime_adapters.python.events import Context

CONTEXT_HEADER = b"x-gaia-context"
_ASGI_VERSION = "3.0"
_SPEC_VERSION = "2.3"  # as uvicorn's httptools protocol says
# uvicorn's loggers, so an app's errors read in the function's log as they did on uvicorn.
_LOGGER = logging.getLogger("uvicorn.error")
# Compiled, the helpers below loop over bytes in C; as plain Python such loops cost more
# than the builtins they replace, so there they say "ask the builtin" at once.
_COMPILED = not __file__.endswith((".py", ".pyc"))
# The bytes uvicorn refuses in an answer's header names and values (each of its checks is
# one character class), as tables indexed by byte: a C loop over a header when compiled,
# where uvicorn runs a regular expression per name and per value.
_NAME_REFUSED = bytes(HEADER_RE.search(bytes([c])) is not None for c in range(256))
_VALUE_REFUSED = bytes(HEADER_VALUE_RE.search(bytes([c])) is not None for c in range(256))


class Invocations:
    """What each request's `context` says beside its own id and alias."""

    __slots__ = ("function", "revision", "timeout_s")

    def __init__(self, function: str, revision: int, timeout_s: float) -> None:
        self.function = function
        self.revision = revision
        self.timeout_s = timeout_s


class Server:
    """What every connection shares: the app, the lifespan's state, the tasks running
    the app (the loop keeps only weak references to them)."""

    __slots__ = ("app", "asgi", "invocations", "keep_alive_s", "loop", "scope", "state", "tasks")

    def __init__(
        self,
        app: Any,
        state: dict[str, Any],
        invocations: Invocations,
        loop: asyncio.AbstractEventLoop,
        keep_alive_s: float,
    ) -> None:
        self.app = app
        self.state = state
        self.invocations = invocations
        self.loop = loop
        self.keep_alive_s = keep_alive_s
        self.tasks: set[asyncio.Task[None]] = set()
        self.asgi = {"version": _ASGI_VERSION, "spec_version": _SPEC_VERSION}
        # Every request's scope starts as a copy of this: what they all say alike.
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": None,
            "http_version": None,
            "server": None,
            "client": None,
            "scheme": "http",
            "root_path": "",
            "headers": None,
            "state": None,
            "method": None,
            "path": None,
            "raw_path": None,
            "query_string": None,
            "gaia.context": None,
        }

    def connection(self) -> asyncio.Protocol:
        return cast(asyncio.Protocol, HttpConnection(self))


class HttpConnection:
    """One connection from the gateway: uvicorn's HttpToolsProtocol, less what only a
    client other than the gateway needs. An asyncio protocol (not derived from
    asyncio.Protocol, so that it compiles to a C class)."""

    __slots__ = ("between", "context_at", "cycle", "expect_100_continue", "flow", "headers",
                 "keep_alive", "last_done", "line", "loop", "parser", "pipeline", "reading",
                 "server", "transport", "url")  # fmt: skip

    def __init__(self, server: Server) -> None:
        self.server = server
        self.loop = server.loop
        self.parser = httptools.HttpRequestParser(self)
        # As uvicorn: answer the first of pipelined requests whose connection closes.
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.flow: Flow = cast(Flow, None)
        self.pipeline: deque[Cycle] = deque()
        self.cycle: Cycle | None = None
        # The request being parsed.
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.context_at = -1
        self.expect_100_continue = False
        self.reading = False  # a head begun, not yet complete
        # No request begun or in progress (one whose data is all read).
        self.between = True
        # The data being parsed, when it began with this request's line (else None).
        self.line: bytes | None = None
        # Keep-alive: one timer per idle stretch, pushed back lazily (`_idle`) rather
        # than cancelled and re-armed on every request.
        self.keep_alive: asyncio.TimerHandle | None = None
        self.last_done = 0.0

    # asyncio protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.flow = Flow(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        # (Attributes read through self, not a local: compiled, that is a C struct's field.)
        if self.cycle is not None:
            if not self.cycle.response_complete:
                self.cycle.disconnected = True
            self.cycle.wake()
        if self.flow is not None:
            self.flow.resume_writing()
        if exc is None:
            self.transport.close()
        if self.keep_alive is not None:
            self.keep_alive.cancel()
            self.keep_alive = None
        self.parser = cast(httptools.HttpRequestParser, None)

    def eof_received(self) -> None:
        return None

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    def data_received(self, data: bytes) -> None:
        # Read between requests, the data begins with the next one's request line.
        self.line = data if self.between and type(data) is bytes else None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            message = "Invalid HTTP request received."
            _LOGGER.warning(message)
            self._bad_request(message)
        except httptools.HttpParserUpgrade:
            # No WebSocket here (as uvicorn with `--ws none`): the request ran as HTTP.
            _LOGGER.warning("Unsupported upgrade request.")
            _LOGGER.warning(
                'No supported WebSocket library detected. Please use "pip install '
                "'uvicorn[standard]'\", or install 'websockets' or 'wsproto' manually."
            )
        self.line = None

    # httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.between = False
        self.url = b""
        self.expect_100_continue = False
        self.context_at = -1
        self.headers = []
        self.reading = True

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = _lowered(name)
        if name == CONTEXT_HEADER:
            self.context_at = len(self.headers)
        elif name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.reading = False
        scope = self._scope()
        idle = self.cycle is None or self.cycle.response_complete
        self.cycle = Cycle(
            self,
            scope,
            self.expect_100_continue,
            scope["http_version"] != "1.0" and self.parser.should_keep_alive(),
        )
        if idle:
            self._run(self.cycle)
        else:  # pipelined: runs once the one before has answered
            self.flow.pause_reading()
            self.pipeline.appendleft(self.cycle)

    def on_body(self, body: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            return
        self.cycle.body += body
        if len(self.cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        self.cycle.wake()

    def on_message_complete(self) -> None:
        self.between = True
        if self.cycle is None or self.cycle.response_complete:
            return
        self.cycle.more_body = False
        self.cycle.wake()

    # the rest -------------------------------------------------------------------------

    def _scope(self) -> dict[str, Any]:
        """The scope of the request whose head is complete, as uvicorn's."""
        parser = self.parser
        headers = self.headers
        # The gateway's context header is last, or just before the framing.
        said = b""
        if self.context_at >= len(headers) - 2 and self.context_at >= 0:
            said = headers.pop(self.context_at)[1]
        target = self.url
        query_at = _query_at(target)
        if query_at == len(target):  # what httptools.parse_url would say, without the call
            raw_path = target
            query = b""
        elif query_at >= 0:
            raw_path = target[:query_at]
            query = target[query_at + 1 :]
        else:
            url = httptools.parse_url(target)
            raw_path = url.path
            query = url.query or b""
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        method: bytes = parser.get_method()
        request_id, _, alias = said.decode("latin-1").partition(" ")
        meta = self.server.invocations
        # The keys in the order of a scope built whole; those alike in every request set once.
        scope = self.server.scope.copy()
        scope["asgi"] = self.server.asgi.copy()
        line = self.line
        self.line = None  # (the next request of the same data does not begin it)
        if line is not None and _says_http_1_1(line, method, target):
            # What the parser's version would say ('{}.{}'.format'ed on each call).
            scope["http_version"] = "1.1"
        else:
            scope["http_version"] = parser.get_http_version()
        scope["headers"] = headers
        scope["state"] = self.server.state.copy()
        scope["method"] = method.decode("ascii")
        scope["path"] = path
        scope["raw_path"] = raw_path
        scope["query_string"] = query
        scope["gaia.context"] = Context(
            meta.function, meta.revision, alias, request_id, "http", monotonic() + meta.timeout_s
        )
        return scope

    def _run(self, cycle: Cycle) -> None:
        # Held until the app returns (run_asgi lets go of it itself: no done callback,
        # which would cost a loop callback a request). Nothing cancels these tasks
        # before they start, the one way run_asgi's `finally` could be skipped.
        cycle.task = self.loop.create_task(cycle.run_asgi(self.server.app))
        self.server.tasks.add(cycle.task)

    def response_complete(self) -> None:
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            self._run(self.pipeline.pop())
            return
        self.last_done = self.loop.time()
        if self.keep_alive is None:
            self.keep_alive = self.loop.call_at(
                self.last_done + self.server.keep_alive_s, self._idle
            )

    def _idle(self) -> None:
        """The keep-alive timer: closes the connection if nothing came since the last
        answer, else waits out the rest of the stretch from that answer."""
        self.keep_alive = None
        if self.transport.is_closing():
            return
        if self.reading or (self.cycle is not None and not self.cycle.response_complete):
            return  # a request in flight: its answer arms the timer again
        due = self.last_done + self.server.keep_alive_s
        if due > self.loop.time():
            self.keep_alive = self.loop.call_at(due, self._idle)
        else:
            self.transport.close()

    def _bad_request(self, message: str) -> None:
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[400],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: " + str(len(message)).encode("ascii") + b"\r\n",
                    b"connection: close\r\n",
                    b"\r\n",
                    message.encode("ascii"),
                ]
            )
        )
        self.transport.close()


class Cycle:
    """One request's `receive` and `send`: uvicorn's RequestResponseCycle."""

    __slots__ = ("body", "chunked_encoding", "connection", "disconnected",
                 "expected_content_length", "flow", "head", "keep_alive", "more_body",
                 "more_waiters", "news", "response_complete", "response_started",
                 "returned", "scope", "task", "transport", "waiter",
                 "waiting_for_100_continue")  # fmt: skip

    def __init__(
        self,
        connection: HttpConnection,
        scope: dict[str, Any],
        expect_100_continue: bool,
        keep_alive: bool,
    ) -> None:
        self.connection = connection
        self.scope = scope
        self.transport = self.connection.transport
        self.flow = self.connection.flow
        self.disconnected = False
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = expect_100_continue
        self.body = bytearray()
        self.more_body = True
        # What uvicorn's message Event holds: set when the request or the connection
        # has news for `receive`, and the future a waiting `receive` sleeps on.
        self.news = False
        self.waiter: asyncio.Future[None] | None = None
        self.more_waiters: list[asyncio.Future[None]] | None = None
        self.response_started = False
        self.response_complete = False
        self.chunked_encoding: bool | None = None
        self.expected_content_length = 0
        self.head = False
        # Set once the app has returned: an answer it completes later (from a task of
        # its own) starts no pipelined request and no keep-alive, as on uvicorn.
        self.returned = False
        self.task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self.news = True
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)
            if self.more_waiters is not None:
                for waiter in self.more_waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                self.more_waiters = None

    async def run_asgi(self, app: Any) -> None:
        try:
            result = await app(self.scope, self.receive, self.send)
        except BaseException as exc:
            _LOGGER.error("Exception in ASGI application\n", exc_info=exc)
            if not self.response_started:
                await self._send_500()
            else:
                self.transport.close()
        else:
            if result is not None:
                _LOGGER.error("ASGI callable should return None, but returned '%s'.", result)
                self.transport.close()
            elif not self.response_started and not self.disconnected:
                _LOGGER.error("ASGI callable returned without starting response.")
                await self._send_500()
            elif not self.response_complete and not self.disconnected:
                _LOGGER.error("ASGI callable returned without completing response.")
                self.transport.close()
        finally:
            self.returned = True
            self.connection.server.tasks.discard(self.task)

    async def _send_500(self) -> None:
        await self.send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"21"),
                    (b"connection", b"close"),
                ],
            }
        )
        await self.send(
            {"type": "http.response.body", "body": b"Internal Server Error", "more_body": False}
        )

    async def send(self, message: dict[str, Any]) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started:
            if message["type"] != "http.response.start":
                raise RuntimeError(
                    f"Expected ASGI message 'http.response.start', but got '{message['type']}'."
                )
            self._start(message)
        elif not self.response_complete:
            if message["type"] != "http.response.body":
                raise RuntimeError(
                    f"Expected ASGI message 'http.response.body', but got '{message['type']}'."
                )
            self._body(_get(message, "body", b""), _get(message, "more_body", False))
        else:
            raise RuntimeError(
                f"Unexpected ASGI message '{message['type']}' sent, "
                "after response already completed."
            )

    def _start(self, message: dict[str, Any]) -> None:
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        content = [STATUS_LINE[status]]
        connection_close = False
        # (uvicorn iterates a list() of the headers: nothing here changes them.)
        for name, value in _get(message, "headers", []):
            lower = _name_is_lower(name)
            _check_value(value)
            if not lower:
                name = name.lower()
            if name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection" and b"close" in [
                token.lower().strip() for token in value.split(b",")
            ]:
                self.keep_alive = False
                connection_close = True
            content.append(name)
            content.append(b": ")
            content.append(value)
            content.append(b"\r\n")
        if not self.keep_alive and not connection_close:
            content.append(b"connection: close\r\n")
        self.head = self.scope["method"] == "HEAD"
        if self.chunked_encoding is None and not self.head and status not in (204, 304):
            self.chunked_encoding = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        self.transport.write(b"".join(content))

    def _body(self, body: bytes, more_body: bool) -> None:
        if self.head:
            self.expected_content_length = 0
        elif self.chunked_encoding:
            content = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
            if not more_body:
                content.append(b"0\r\n\r\n")
            self.transport.write(b"".join(content))
        else:
            if len(body) > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= len(body)
            self.transport.write(body)
        if not more_body:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.wake()
            if not self.keep_alive:
                self.transport.close()
            if not self.returned:
                self.connection.response_complete()

    async def receive(self) -> dict[str, Any]:
        if self.waiting_for_100_continue and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            self.flow.resume_reading()
            if not self.news:
                waiter = self.connection.loop.create_future()
                if self.waiter is None:
                    self.waiter = waiter
                else:  # receive called again before the first has its answer
                    if self.more_waiters is None:
                        self.more_waiters = []
                    self.more_waiters.append(waiter)
                await waiter
            self.news = False
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        message = {"type": "http.request", "body": bytes(self.body), "more_body": self.more_body}
        self.body = bytearray()
        return message


class Flow:
    """uvicorn's FlowControl (the same pauses and the same drain), as a C class when
    compiled: the connection resumes reading after every answer."""

    __slots__ = ("read_paused", "transport", "writable", "write_paused")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.read_paused = False
        self.write_paused = False
        self.writable = asyncio.Event()
        self.writable.set()

    async def drain(self) -> None:
        await self.writable.wait()

    def pause_reading(self) -> None:
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        if not self.write_paused:
            self.write_paused = True
            self.writable.clear()

    def resume_writing(self) -> None:
        if self.write_paused:
            self.write_paused = False
            self.writable.set()


def _get(message: Any, key: str, default: Any) -> Any:
    """message.get(key, default), by C calls when the message is a dict (as it is)."""
    if type(message) is dict:
        plain: dict[str, Any] = message
        return plain.get(key, default)
    return message.get(key, default)


def _lowered(name: bytes) -> bytes:
    """`name` lower-cased: itself when it is already, as the gateway's header names are."""
    if not _COMPILED:
        return name.lower()
    for c in name:
        if 65 <= c <= 90:  # A-Z
            return name.lower()
    return name


# The bytes of an origin-form request target (RFC 3986's pchar, "/" and "?") for which
# httptools.parse_url's path and query are what the first "?" splits.
_PLAIN_TARGET = bytes(
    c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%/?"
    for c in range(256)
)


def _query_at(target: bytes) -> int:
    """Where the query of the request `target` begins, less its "?" (its length when it
    has none), when it is a plain origin-form path; -1 for httptools.parse_url to say."""
    if not _COMPILED:
        return -1
    if not target or target[0] != 47:  # "/"
        return -1
    at = -1
    for index, c in enumerate(target):
        if not _PLAIN_TARGET[c]:
            return -1
        if c == 63 and at < 0:  # "?"
            at = index
    return len(target) if at < 0 else at


def _says_http_1_1(data: bytes, method: bytes, target: bytes) -> bool:
    """Whether `data` begins with the whole request line `method target HTTP/1.1`: when
    a parser read that request from the beginning of `data`, its version is 1.1."""
    if not _COMPILED:
        return False  # the parser's own version
    end = len(method) + 1 + len(target)
    return (
        len(data) >= end + 11
        and data[end] == 32  # " "
        and _at(data, end + 1, b"HTTP/1.1\r\n")
        and _at(data, 0, method)
        and data[len(method)] == 32
        and _at(data, len(method) + 1, target)
    )


def _at(data: bytes, start: int, part: bytes) -> bool:
    """Whether `data` holds `part` at `start` (a C loop compiled, not a slice)."""
    # Not all(...): Cython makes a generator of that, an object per call.
    for index in range(len(part)):  # noqa: SIM110
        if data[start + index] != part[index]:
            return False
    return True


def _name_is_lower(name: Any) -> bool:
    """Whether the answer header `name` is lower-case bytes already (else it is lowered
    as uvicorn does); uvicorn's RuntimeError when it refuses the name."""
    if type(name) is not bytes or not _COMPILED:
        if HEADER_RE.search(name):
            raise RuntimeError("Invalid HTTP header name.")
        return False
    data: bytes = name
    lower = True
    for c in data:
        if _NAME_REFUSED[c]:
            raise RuntimeError("Invalid HTTP header name.")
        if 65 <= c <= 90:  # A-Z
            lower = False
    return lower


def _check_value(value: Any) -> None:
    """uvicorn's RuntimeError when it refuses the answer header `value`."""
    if type(value) is not bytes or not _COMPILED:
        if HEADER_VALUE_RE.search(value):
            raise RuntimeError("Invalid HTTP header value.")
        return
    data: bytes = value
    for c in data:
        if _VALUE_REFUSED[c]:
            raise RuntimeError("Invalid HTTP header value.")


async def serve_http(
    app: Any,
    state: dict[str, Any],
    listener: socket.socket,
    *,
    invocations: Invocations,
    keep_alive_s: float,
) -> asyncio.AbstractServer:
    """Serve `app` on the inherited `listener` from the running loop; `state` is the
    lifespan's, copied into each request's scope as uvicorn does."""
    loop = asyncio.get_running_loop()
    server = Server(app, state, invocations, loop, keep_alive_s)
    return await loop.create_unix_server(server.connection, sock=listener)
