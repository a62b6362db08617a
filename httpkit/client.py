"""A pooled keep-alive HTTP/1.1 client over asyncio and httptools, for per-request hot paths.

Chosen by measurement (bench/legacy_clients.py; README "Fronting the old API"): per
request it costs a fraction of aiohttp's and httpx's, because a connection is an
`asyncio.Protocol` feeding httptools (llhttp) directly, with no streams, no per-request
task and no header objects beyond `(name, value)` byte pairs. It is not tied to the
legacy proxy: container instances are reached through it too.

What it does: one request at a time per connection (no pipelining); idle connections
kept per origin (LIFO, so few stay warm) and dropped when the peer closes them or after
`idle_timeout_s`; a connect timeout, and a read timeout for the head and between body
chunks (as nginx's `proxy_read_timeout`); request bodies as bytes or streamed (by
`Content-Length`, else chunked); response bodies streamed with back-pressure (reading
pauses once `_HIGH_WATER` bytes wait), chunked or by length or to the close; 1xx answers
skipped; HEAD answered without a body. A request that fails on a reused connection
before any answer byte is retried once on a new one when its body can be sent again:
the peer may have closed the idle connection just as it was taken.

A connection can also be driven by callbacks instead of awaits (`Connection.attach`, an
`AnswerSink`): the answer's head, body pieces and end are handed to the sink as httptools
parses them, with no future or timer per request. The data plane splices requests this
way (gateway/http/exchange.py); the pool (`idle`, `connect`, `keep`) is the same.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import ssl
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

import httptools

Headers = list[tuple[bytes, bytes]]
Reason = Literal["connect_failed", "connect_timeout", "read_timeout", "closed", "bad_response"]

_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024


class ClientError(Exception):
    """The request got no complete answer; `reason` says what went wrong."""

    def __init__(self, message: str, *, reason: Reason) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason

    @property
    def timed_out(self) -> bool:
        return self.reason in ("connect_timeout", "read_timeout")


@dataclass(frozen=True, kw_only=True)
class Origin:
    host: str
    port: int
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL with a host, got {url!r}")
        tls = parts.scheme == "https"
        return cls(host=parts.hostname, port=parts.port or (443 if tls else 80), tls=tls)

    @functools.cached_property
    def authority(self) -> bytes:
        """`host:port` for a Host header (IDNA-encoding it each time is measurable)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}".encode("idna")

    def __hash__(self) -> int:
        # The generated hash builds a tuple each time.
        return self._hash

    @functools.cached_property
    def _hash(self) -> int:
        return hash((self.host, self.port, self.tls))

    @functools.cached_property
    def key(self) -> str:
        """Equal for equal origins: what the pool looks an origin up by twice a request (a
        string keeps its hash, where `__hash__` is a Python call each time)."""
        return repr((self.host, self.port, self.tls))


class AnswerSink:
    """Takes an answer as it is parsed, for a connection driven by callbacks: a base class
    rather than a Protocol, so that compiled (setup.py) the connection calls its sink's
    methods at C level."""

    def answer_head(self, status: int, headers: Headers) -> None:
        """The head (1xx answers skipped); names lower-case, trailers never included."""
        raise NotImplementedError

    def answer_body(self, data: bytes) -> None:
        raise NotImplementedError

    def answer_end(self) -> None:
        """The answer is whole; `keep_alive` on the connection says whether it may be kept."""
        raise NotImplementedError

    def answer_failed(self, error: ClientError) -> None:
        """No whole answer will come (the connection closed or sent garbage); called once."""
        raise NotImplementedError

    def answer_fed(self) -> None:
        """The end of one read's callbacks: a moment to pass on what they gave."""
        raise NotImplementedError

    def upstream_paused(self) -> None:
        """The connection's write buffer is full: stop feeding it the request body."""
        raise NotImplementedError

    def upstream_resumed(self) -> None:
        raise NotImplementedError


class _Connection:
    """One TCP connection: writes a request, parses its answer into a chunk queue, or hands
    it to an attached `AnswerSink`. (Its body, compiled to an extension type when the build
    finds Cython, which cannot derive from a Python class: `Connection` adds the base.)"""

    def __init__(self, client: HttpClient, origin: Origin) -> None:
        self._client = client
        self.origin = origin
        self._loop = client._loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.used = False
        self.idle_since = 0.0
        self._head_only = False
        self._informational = False
        self._reset_parser = False
        # The answer being read.
        self.status = 0
        self.headers: Headers = []
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.received_any = False
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._reading_paused = False
        self.error: ClientError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._sink: AnswerSink | None = None
        # A timer the sink's driver keeps on the connection across requests, so a request
        # need not make one; cancelled when the connection goes.
        self.timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ClientError("the upstream switched protocols", reason="bad_response"))
        except httptools.HttpParserError as exc:
            self._fail(ClientError(f"malformed answer: {exc}", reason="bad_response"))
        if self._reset_parser:
            # A HEAD answer's Content-Length announces a body that never comes.
            self._reset_parser = False
            self._parser = httptools.HttpResponseParser(self)
        if self._sink is not None:
            self._sink.answer_fed()

    def eof_received(self) -> bool | None:
        if self.head_done and not self.complete and self._reads_to_close():
            self.complete = True
            self.keep_alive = False
            self._ended()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_timer()
        self._client._forget(self)
        if not self.complete:
            self._fail(ClientError("the upstream closed the connection", reason="closed"))
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        if self._sink is not None:
            self._sink.upstream_paused()
        elif self._drain is None or self._drain.done():
            self._drain = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._sink is not None:
            self._sink.upstream_resumed()
        elif self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # --- httptools callbacks --------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        # After the head only trailer fields come; like nginx, the proxy drops them.
        if not self.head_done:
            self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if status < 200 and status != 101 and status >= 100:
            # 100 Continue, 103 Early Hints: the real answer follows on the same message
            # stream; llhttp ends this one without a body.
            self._informational = True
            self.headers = []
            return
        self.status = status
        self.keep_alive = parser.should_keep_alive()
        self.head_done = True
        sink = self._sink
        if sink is None:
            if self._head_only:
                self.complete = True
                self._reset_parser = True
            self._wake()
            return
        sink.answer_head(status, self.headers)
        if self._head_only:
            self.complete = True
            self._reset_parser = True
            self._ended()

    def on_body(self, body: bytes) -> None:
        sink = self._sink
        if sink is not None:
            sink.answer_body(body)
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
        elif not self._head_only:
            self.complete = True
            self.keep_alive = self.keep_alive and self._parser.should_keep_alive()
            self._ended()
        else:
            self._wake()

    # --- callbacks instead of awaits ------------------------------------------------

    def attach(self, sink: AnswerSink, head_only: bool) -> None:
        """Hand the next answer to `sink` (`head_only` for a HEAD request's answer)."""
        self.start(head_only)
        self._sink = sink

    def detach(self) -> None:
        self._sink = None

    @property
    def sink(self) -> AnswerSink | None:
        """The sink the answer being read goes to, if any."""
        return self._sink

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def _ended(self) -> None:
        sink = self._sink
        if sink is None:
            self._wake()
        else:
            self._sink = None
            sink.answer_end()

    # --- the request cycle -----------------------------------------------------------

    def start(self, head_only: bool) -> None:
        self.status = 0
        self.headers = []
        self.head_done = self.complete = self.received_any = False
        self._head_only = head_only
        self._chunks.clear()
        self._buffered = 0

    def _reads_to_close(self) -> bool:
        """Whether the body ends when the connection does (no length, not chunked)."""
        for name, value in self.headers:
            if name == b"content-length" or (
                name == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                return False
        return True

    def _fail(self, error: ClientError) -> None:
        if self.error is None:
            self.error = error
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()
        sink = self._sink
        if sink is None:
            self._wake()
        else:
            self._sink = None
            sink.answer_failed(self.error)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, timeout_s: float, what: str) -> None:
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_later(timeout_s, _expire, waiter, timeout_s, what)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def head(self, timeout_s: float) -> None:
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self._wait(timeout_s, "the answer's head")

    async def read_some(self, timeout_s: float) -> tuple[bytes, bool]:
        """Body bytes waiting now (at least one unless the body has ended), and whether
        the body has ended."""
        while not self._chunks and not self.complete:
            if self.error is not None:
                raise self.error
            await self._wait(timeout_s, "the answer's body")
        return self.take()

    def ready(self) -> bool:
        """Whether `take` has something to give: body bytes, or the body's end."""
        return bool(self._chunks) or self.complete

    def take(self) -> tuple[bytes, bool]:
        """The body bytes waiting now, and whether the body has ended."""
        if len(self._chunks) == 1:
            data = self._chunks.popleft()
        else:
            data = b"".join(self._chunks)
            self._chunks.clear()
        self._buffered = 0
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data, self.complete and not self._chunks

    def send(self, data: bytes) -> None:
        """Write without waiting for the peer to take it: a request sent whole, whose
        answer is awaited next anyway."""
        if self.closed or self.transport is None:
            raise self.error or ClientError("the upstream closed the connection", reason="closed")
        self.transport.write(data)

    async def write(self, data: bytes) -> None:
        self.send(data)
        if self._drain is not None and not self._drain.done():
            await self._drain

    def close(self) -> None:
        self.closed = True
        self._sink = None
        self._stop_timer()
        if self.transport is not None:
            self.transport.close()


class Connection(_Connection, asyncio.Protocol):
    __slots__ = ()


def _expire(waiter: asyncio.Future[None], timeout_s: float, what: str) -> None:
    if not waiter.done():
        waiter.set_exception(
            ClientError(f"{what} did not come within {timeout_s:g}s", reason="read_timeout")
        )


class Response:
    """An answer whose head has arrived; its body is read with `read_some` or `read`.

    `release()` must be called when done: it gives a fully read keep-alive connection
    back to the pool and closes any other.
    """

    def __init__(
        self, client: HttpClient, connection: Connection, upload: asyncio.Task[None] | None
    ) -> None:
        self._client = client
        self._connection = connection
        self._upload = upload
        self.status = connection.status
        self.headers = connection.headers
        self._ended = False
        self.aborted = False

    async def read_some(self) -> tuple[bytes, bool]:
        if self._ended:
            return b"", True
        connection = self._connection
        if connection.ready():
            # Most short answers are whole by the time their head is read: no wait.
            data, ended = connection.take()
        else:
            data, ended = await connection.read_some(self._client.read_timeout_s)
        self._ended = ended
        return data, ended

    def length(self) -> int | None:
        """The body's announced length (Content-Length), None when it has none."""
        for name, value in self.headers:
            if name == b"content-length" and value.isdigit():
                return int(value)
        return None

    async def read(self, limit: int) -> bytes | None:
        """The whole body, or None (the connection closed) once it passes `limit` bytes."""
        chunks: list[bytes] = []
        size = 0
        ended = False
        while not ended:
            data, ended = await self.read_some()
            size += len(data)
            if size > limit:
                self.release(reuse=False)
                return None
            chunks.append(data)
        return b"".join(chunks)

    def abort(self, why: str) -> None:
        """Stop reading: the connection goes, and a waiting `read_some` raises."""
        self.aborted = True
        self._connection._fail(ClientError(why, reason="closed"))

    def release(self, *, reuse: bool = True) -> None:
        connection = self._connection
        upload = self._upload
        uploading = upload is not None and not upload.done()
        if upload is not None:
            upload.cancel()
        if reuse and self._ended and connection.keep_alive and not uploading:
            self._client.keep(connection)
        else:
            connection.close()


Body = bytes | AsyncIterable[bytes]


class HttpClient:
    def __init__(
        self,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        idle_timeout_s: float = 4.0,
        max_idle_per_origin: int = 256,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        # Below uvicorn's default 5 s keep-alive, so the peer rarely closes first.
        self.idle_timeout_s = idle_timeout_s
        self.max_idle_per_origin = max_idle_per_origin
        self._idle: dict[str, list[Connection]] = {}  # by Origin.key
        self._sweeper: asyncio.TimerHandle | None = None
        self._tls: ssl.SSLContext | None = None
        self.connections_opened = 0

    async def request(
        self,
        origin: Origin,
        method: str,
        target: bytes,
        headers: Headers,
        body: Body = b"",
        *,
        content_length: int | None = None,
    ) -> Response:
        """Send a request and return once its answer's head has arrived.

        `headers` go out as given: the caller sets Host, and no hop-by-hop header.
        A streamed body goes out with `content_length` when given, else chunked.
        """
        replayable = isinstance(body, bytes)
        connection, reused = self.idle(origin), True
        if connection is None:
            connection, reused = await self.connect(origin), False
        try:
            return await self._exchange(connection, method, target, headers, body, content_length)
        except ClientError:
            if not (reused and replayable and not connection.received_any):
                raise
        # The pooled connection was dead on arrival: once more on a new one.
        connection = await self.connect(origin)
        return await self._exchange(connection, method, target, headers, body, content_length)

    async def _exchange(
        self,
        connection: Connection,
        method: str,
        target: bytes,
        headers: Headers,
        body: Body,
        content_length: int | None,
    ) -> Response:
        connection.start(head_only=method == "HEAD")
        head = [method.encode("latin-1"), b" ", target, b" HTTP/1.1\r\n"]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        upload: asyncio.Task[None] | None = None
        try:
            if isinstance(body, bytes):
                if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS", "TRACE"):
                    head += (b"content-length: ", str(len(body)).encode(), b"\r\n")
                head.append(b"\r\n")
                connection.send(b"".join(head) + body)
            else:
                if content_length is None:
                    head.append(b"transfer-encoding: chunked\r\n")
                else:
                    head += (b"content-length: ", str(content_length).encode(), b"\r\n")
                head.append(b"\r\n")
                await connection.write(b"".join(head))
                # Sent beside the wait for the head: the upstream may answer early.
                upload = self._loop.create_task(
                    _upload(connection, body, chunked=content_length is None)
                )
            await connection.head(self.read_timeout_s)
        except BaseException:
            if upload is not None:
                upload.cancel()
            connection.close()
            raise
        return Response(self, connection, upload)

    async def connect(self, origin: Origin) -> Connection:
        """A new connection to `origin`, within the connect timeout."""
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, connection = await self._loop.create_connection(
                    lambda: Connection(self, origin),
                    origin.host,
                    origin.port,
                    ssl=self._tls_context() if origin.tls else None,
                )
        except TimeoutError:
            raise ClientError(
                f"no connection to {origin.host}:{origin.port} within {self.connect_timeout_s:g}s",
                reason="connect_timeout",
            ) from None
        except OSError as exc:
            raise ClientError(
                f"cannot connect to {origin.host}:{origin.port}: {exc.strerror or exc}",
                reason="connect_failed",
            ) from None
        self.connections_opened += 1
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    # --- the pool --------------------------------------------------------------------

    def idle(self, origin: Origin) -> Connection | None:
        """A kept connection to `origin`, the most recently used; None when there is none."""
        idle = self._idle.get(origin.key)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    def keep(self, connection: Connection) -> None:
        """Back to the pool: `connection`'s answer was read whole and it may be kept alive."""
        key = connection.origin.key
        idle = self._idle.get(key)
        if idle is None:  # not setdefault: no list made and dropped per request
            idle = self._idle[key] = []
        if len(idle) >= self.max_idle_per_origin:
            connection.close()
            return
        connection.idle_since = self._loop.time()
        idle.append(connection)
        if self._sweeper is None:
            self._sweeper = self._loop.call_later(self.idle_timeout_s, self._sweep)

    def _forget(self, connection: _Connection) -> None:
        idle = self._idle.get(connection.origin.key)
        if idle and connection in idle:
            idle.remove(connection)

    def _sweep(self) -> None:
        self._sweeper = None
        horizon = self._loop.time() - self.idle_timeout_s
        left = False
        for idle in self._idle.values():
            # Oldest first: the LIFO stack keeps the least recently used at the bottom.
            while idle and idle[0].idle_since <= horizon:
                idle.pop(0).close()
            left = left or bool(idle)
        if left:
            self._sweeper = self._loop.call_later(self.idle_timeout_s, self._sweep)

    def idle_connections(self) -> int:
        return sum(len(idle) for idle in self._idle.values())

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


async def _upload(connection: Connection, body: AsyncIterable[bytes], *, chunked: bool) -> None:
    try:
        async for chunk in body:
            if not chunk:
                continue
            if chunked:
                await connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                await connection.write(chunk)
        if chunked:
            await connection.write(b"0\r\n\r\n")
    except ClientError:
        # The connection went: the head's wait or the body's read reports it.
        return
    except Exception:
        # The body's source failed (the client went away): the upstream must not wait
        # for the rest, so the connection goes, and the answer's reader learns why.
        connection._fail(ClientError("the request body was cut short", reason="closed"))
