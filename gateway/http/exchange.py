"""One spliced request (gateway/http/splice.py): the client's request written to an upstream
connection and the upstream's answer relayed to the client, all in the two connections'
callbacks, with no task, future or ASGI message per request.

It keeps what the ASGI path through httpkit's client does:
- the head goes out with whatever of the body came with it, in one write; the body
  follows as it arrives, by its Content-Length or chunked, never held whole;
- `Expect: 100-continue` is answered here (100 Continue once the upstream has the head,
  as uvicorn answers it when the body is first read) and not passed on;
- an answer of up to 64 KiB by its Content-Length is gathered and written with its head
  at once: one write, and an upstream that fails before its end still gets a clean error
  answer. Any other answer is passed on as each read of it is parsed, chunked to the
  client when it has no length;
- back-pressure both ways: a full upstream write buffer pauses reading the client, a
  full client write buffer pauses reading the upstream;
- the read timeout runs from the head's sending, for the answer's head and then between
  reads, but not while the client is the one not reading; a splice's `deadline_s` bounds
  the whole answer besides (a function's timeout); the connect timeout is the pool's;
- a pooled connection that proves dead before any answer byte is replaced once by a new
  one when the request has no body (nothing that cannot be sent again);
- a connection that could not be made is tried on the origin the splice names instead,
  when it names one (`reroute`);
- an upstream that fails before the answer began gets the splice's failure answer, the
  data plane's JSON error with the request id (decided at once, or once an awaitable
  the splice gives resolves); after, the client's connection is cut, so
  a partial body is never taken for a whole one;
- a client that leaves: a request body cut short fails the upstream exchange; an answer
  being passed on stops (the upstream connection closes), recorded as CLIENT_GONE.

The exchange stands in uvicorn's protocol as the connection's `cycle`, so pipelined
requests queue behind it and a shutdown closes the connection after its answer.
"""

from __future__ import annotations

import asyncio
import functools
import http
import logging
from time import perf_counter
from typing import ClassVar

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE
from uvicorn.server import ServerState

from gateway.http.splice import (
    CLIENT_GONE,
    Capture,
    Captured,
    Failure,
    Headers,
    RequestHead,
    Splice,
    Splicer,
    make_outcome,
)
from httpkit import headbytes
from httpkit.client import AnswerSink, ClientError, Connection

log = logging.getLogger("gaia.http.splice")

# Answers up to this long (by Content-Length) are gathered and written whole.
_GATHERED = 64 * 1024
# Request body kept while the upstream connection opens; beyond it the client waits.
_PENDING_HIGH = 64 * 1024
# Parts up to this size in all are joined into one buffer for a write; larger go as they are.
_JOINED_MAX = 64 * 1024
# A timer may fire a little before its time (the loop rounds to its clock resolution).
_EARLY_S = 0.001
# Methods that carry no body, so a request without one needs no Content-Length: 0.
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# uvicorn's status lines, typed as a dict when compiled (a C look-up, not a method call).
_STATUS_LINES = STATUS_LINE
# The request line's start for each method the wire names (others are encoded).
_METHOD_LINES = {
    name: name.encode("ascii") + b" "
    for name in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
}


class _Defaults:
    """The server's default fields (date, server) as lines, for the list uvicorn last made:
    it makes a new one each second, for the date, so that list itself is the key."""

    __slots__ = ("fields", "lines")

    def __init__(self) -> None:
        self.fields: list[tuple[bytes, bytes]] | None = None
        self.lines = b""


_DEFAULTS = _Defaults()


class ClientSide:
    """What the exchange needs of the client's connection (the data plane's protocol's
    RequestWire, gateway/http/wire.py, fills it in). A base class rather than a
    typing.Protocol: compiled, the exchange reads these as C fields and ends its answer
    with a C-level call, not a Python one per request."""

    __slots__ = ("flow", "loop", "server_state", "transport")

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    flow: FlowControl
    server_state: ServerState

    def exchange_done(self, exchange: Exchange) -> None:
        """The answer is complete: the connection may take its next request."""
        raise NotImplementedError


class _NoEvent:
    """uvicorn's protocol sets its cycle's `message_event` when the client leaves; nothing
    waits on one here."""

    def set(self) -> None:
        return None


class Exchange(AnswerSink):
    __slots__ = (
        "_answer_headers",
        "_answer_kept",
        "_began",
        "_chunked",
        "_client",
        "_client_chunked",
        "_client_slow",
        "_conn",
        "_deadline",
        "_done",
        "_expect_continue",
        "_failing",
        "_gathering",
        "_has_body",
        "_head",
        "_last_read",
        "_length",
        "_loop",
        "_out",
        "_pending",
        "_reading_held",
        "_request_done",
        "_request_kept",
        "_retried",
        "_reused",
        "_side",
        "_splice",
        "_splicer",
        "_started",
        "_status",
        "_up",
        "_upstream_head",
        "disconnected",
        "keep_alive",
        "response_complete",
    )

    message_event: ClassVar[_NoEvent] = _NoEvent()

    # Made by `make_exchange`, not by calling the class (compiled, a C-level call).
    def _begin(
        self,
        side: ClientSide,
        head: RequestHead,
        splice: Splice,
        splicer: Splicer,
        expect_continue: bool,
    ) -> None:
        self._side = side
        self._head = head
        self._splice = splice
        self._splicer = splicer
        self._client = splice.client
        self._loop = side.loop
        self._started = perf_counter()
        # uvicorn's protocol reads these of its `cycle`.
        self.response_complete = False
        self.disconnected = False
        self.keep_alive = head.keep_alive
        # The request (its framing as the protocol parsed it).
        length = head.content_length
        self._chunked = chunked = head.chunked
        self._has_body = has_body = chunked or bool(length)
        self._request_done = False
        self._expect_continue = expect_continue and has_body
        self._upstream_head = self._request_head(length)
        self._up: list[bytes] = []  # for the upstream, written at the end of the client's read
        self._pending = 0  # bytes of `_up` held while the connection opens
        self._reading_held = False
        # The upstream connection.
        self._conn: Connection | None = None
        self._reused = False
        self._retried = False
        self._last_read = 0.0
        self._client_slow = False
        deadline_s = splice.deadline_s
        self._deadline = None if deadline_s is None else self._loop.time() + deadline_s
        # The answer.
        self._status = 0
        self._answer_headers: Headers = []
        self._length: bytes | None = None
        self._client_chunked = False
        self._gathering = False
        self._out: list[bytes] = []  # for the client, written at the end of the upstream's read
        self._began = False  # some of the answer has been written to the client
        self._done = False
        self._failing = False  # the failure answer is being decided
        # What is kept for the completion callback.
        limit = splice.capture_limit
        if limit:
            self._request_kept: Capture | None = Capture(limit)
            self._answer_kept: Capture | None = Capture(limit)
        else:
            self._request_kept = self._answer_kept = None

    # --- the client's side (called by the protocol) ------------------------------------

    def start(self) -> None:
        connection = self._client.idle(self._splice.origin)
        if connection is None:
            self._connect()
        else:
            self._use(connection, True)

    def request_body(self, data: bytes) -> None:
        if self._request_kept is not None:
            self._request_kept.add(data)
        if self._done or self.response_complete:
            return  # answered already: the rest of the body is read and dropped
        if self._chunked:
            self._up += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self._up.append(data)
        if self._conn is None:
            self._pending += len(data)
            if self._pending > _PENDING_HIGH and not self._reading_held:
                self._reading_held = True
                self._side.flow.pause_reading()

    def request_end(self) -> None:
        self._request_done = True
        if self._chunked and not self._done:
            self._up.append(b"0\r\n\r\n")

    def client_fed(self) -> None:
        """The end of one read of the client's bytes: what it gave goes out in one write."""
        if self._up and self._conn is not None:
            self._flush_up()

    def client_paused(self) -> None:
        self._client_slow = True
        if self._conn is not None:
            self._conn.pause_reading()

    def client_resumed(self) -> None:
        self._client_slow = False
        self._last_read = self._loop.time()
        if self._conn is not None:
            self._conn.resume_reading()

    def client_lost(self) -> None:
        self.disconnected = True
        if self._done:
            return
        if not self._request_done:
            # The upstream must not wait for the rest of a body that will never come.
            self._drop_connection()
            self._failed(ClientError("the request body was cut short", reason="closed"))
        elif self._status and not self._gathering:
            self._drop_connection()
            self._finish(self._status, CLIENT_GONE)
        # Else the answer's head is awaited or a short answer gathered: it ends soon and
        # is dropped, as the ASGI path does.

    # --- the upstream's side (httpkit.client.AnswerSink) --------------------------------

    def answer_head(self, status: int, headers: Headers) -> None:
        self._status = status
        self._answer_headers = headers
        rewritten = self._splice.response_headers(status, headers)
        self._out.append(self._response_head(status, rewritten, self._head.method == "HEAD"))
        length = self._length
        self._gathering = length is not None and gathered(length)
        if self.disconnected and not self._gathering:
            self._drop_connection()
            self._finish(status, CLIENT_GONE)

    def answer_body(self, data: bytes) -> None:
        if self._answer_kept is not None:
            self._answer_kept.add(data)
        if self._client_chunked:
            self._out += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self._out.append(data)

    def answer_fed(self) -> None:
        self._last_read = self._loop.time()
        if self._out and not self._gathering:
            self._flush_out()

    def answer_end(self) -> None:
        connection, self._conn = self._conn, None
        if self._client_chunked:
            self._out.append(b"0\r\n\r\n")
        self._flush_out()
        if connection is not None:
            # Kept only when the upstream read the whole request as well.
            if connection.keep_alive and self._request_done and not connection.closed:
                self._client.keep(connection)
            else:
                connection.close()
        self._finish(self._status, None)
        self._respond_complete()

    def answer_failed(self, error: ClientError) -> None:
        connection, self._conn = self._conn, None
        if (
            connection is not None
            and self._reused
            and not self._retried
            and not connection.received_any
            and not self._has_body
        ):
            # The pooled connection was dead on arrival: once more on a new one.
            self._retried = True
            self._up.clear()
            self._connect()
            return
        self._failed(error)

    def upstream_paused(self) -> None:
        self._side.flow.pause_reading()

    def upstream_resumed(self) -> None:
        self._side.flow.resume_reading()

    # --- the upstream connection ----------------------------------------------------

    def _connect(self) -> None:
        task = self._loop.create_task(self._client.connect(self._splice.origin))
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Connection]) -> None:
        if task.cancelled():
            self._failed(ClientError("the connection was not made", reason="connect_failed"))
            return
        error = task.exception()
        if error is not None:
            if not isinstance(error, ClientError):
                error = ClientError(f"cannot connect: {error}", reason="connect_failed")
            if not self._done and self._splice.reroute(error):
                # Nothing was sent: what the client gave is still in `_up`.
                self._client = self._splice.client
                self._connect()
                return
            self._failed(error)
            return
        connection = task.result()
        if self._done:
            connection.close()
            return
        self._use(connection, False)
        self._flush_up()
        if self._reading_held:
            self._reading_held = False
            self._side.flow.resume_reading()

    def _use(self, connection: Connection, reused: bool) -> None:
        self._conn = connection
        self._reused = reused
        connection.attach(self, self._head.method == "HEAD")
        if self._has_body:
            # Written at the end of the client's read, with whatever of the body came in it.
            self._up.insert(0, self._upstream_head)
            if self._expect_continue:
                self._expect_continue = False
                if not self.disconnected:
                    self._side.transport.write(_CONTINUE)
        elif not connection.closed:
            connection.send(self._upstream_head)  # nothing follows it: out at once
        self._last_read = now = self._loop.time()
        timer = connection.timer
        if self._deadline is None:
            # A timer kept on the connection is due no later than this request's read
            # timeout: it was set a read timeout or less after an earlier time.
            if timer is None:
                # Kept on the connection: it goes on checking whichever request uses it next.
                connection.timer = self._loop.call_at(
                    now + self._client.read_timeout_s, _check_read, connection
                )
            return
        due = self._due(now)
        if timer is not None and timer.when() > due:
            timer.cancel()  # set for a request with more time than this one has
            timer = None
        if timer is None:
            connection.timer = self._loop.call_at(due, _check_read, connection)

    def _due(self, last_read: float) -> float:
        """When the upstream is late: a read timeout after its last read, or the deadline."""
        due = last_read + self._client.read_timeout_s
        deadline = self._deadline
        return due if deadline is None or due < deadline else deadline

    def _flush_up(self) -> None:
        connection = self._conn
        if connection is None or connection.closed:
            return
        up = self._up
        if not up:
            return
        data = up[0] if len(up) == 1 else b"".join(up)
        up.clear()
        self._pending = 0
        connection.send(data)

    def _drop_connection(self) -> None:
        connection, self._conn = self._conn, None
        if connection is not None:
            connection.close()

    def _check_read(self, connection: Connection) -> None:
        if self._done or self._conn is not connection:
            return
        timeout = self._client.read_timeout_s
        now = self._loop.time()
        if self._client_slow:
            # The client is the one not reading: the upstream is not late.
            connection.timer = self._loop.call_at(now + timeout, _check_read, connection)
            return
        due = self._due(self._last_read)
        if now + _EARLY_S < due:
            connection.timer = self._loop.call_at(due, _check_read, connection)
            return
        if due == self._deadline:
            message = f"the answer did not end within {self._splice.deadline_s:g}s"
        else:
            what = "the answer's body" if self._status else "the answer's head"
            message = f"{what} did not come within {timeout:g}s"
        self._drop_connection()
        self._failed(ClientError(message, reason="read_timeout"))

    # --- the client's answer ----------------------------------------------------------

    def _request_head(self, length: int | None) -> bytes:
        head = self._head
        method = head.method
        line = _METHOD_LINES.get(method)
        if line is None:
            line = method.encode("latin-1") + b" "
        if self._chunked:
            framing = b"transfer-encoding: chunked\r\n\r\n"
        elif self._has_body or method not in _BODYLESS:
            framing = b"content-length: %d\r\n\r\n" % (length or 0)
        else:
            framing = b"\r\n"
        splice = self._splice
        return headbytes.head(line, splice.target, b" HTTP/1.1\r\n", splice.headers, b"", framing)

    def _response_head(self, status: int, headers: Headers, head_only: bool) -> bytes:
        """The client's answer head, as uvicorn writes one (chunked when the answer has a
        body and no length); `_length` is then the length the answer gives (None: none, or
        HEAD's)."""
        line = _STATUS_LINES.get(status)
        if line is None:
            line = b"HTTP/1.1 %d %b\r\n" % (status, _phrase(status))
        defaults = self._side.server_state.default_headers
        kept = _DEFAULTS
        if defaults is not kept.fields:
            kept.fields = defaults
            kept.lines = headbytes.head(b"", b"", b"", defaults, b"", b"")
        length: bytes | None = None
        for name, value in headers:
            if name == b"content-length":
                length = value
                break
        self._client_chunked = length is None and not head_only and status != 204 and status != 304
        self._length = None if head_only else length
        return headbytes.head(
            line,
            kept.lines,
            b"",
            headers,
            b"" if self.keep_alive else b"connection: close\r\n",
            b"transfer-encoding: chunked\r\n\r\n" if self._client_chunked else b"\r\n",
        )

    def _flush_out(self) -> None:
        out = self._out
        if not out:
            return
        self._began = True
        if not self.disconnected:
            transport = self._side.transport
            if len(out) == 1:
                transport.write(out[0])
            else:
                size = 0
                for part in out:  # a loop, not sum(map(len, out)): C compiled
                    size += len(part)
                if size <= _JOINED_MAX:
                    transport.write(b"".join(out))
                else:
                    transport.writelines(out)
        out.clear()

    def _failed(self, error: ClientError) -> None:
        if self._done or self._failing:
            return
        self._failing = True
        self._drop_connection()
        failure = self._splice.failure(error)
        if isinstance(failure, Failure):
            self._answer_failure(failure)
        else:
            task = asyncio.ensure_future(failure, loop=self._loop)
            task.add_done_callback(functools.partial(self._failure_known, error))

    def _failure_known(self, error: ClientError, task: asyncio.Future[Failure]) -> None:
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                log.error(
                    "deciding the failure of %s failed",
                    self._head.request_id,
                    exc_info=task.exception(),
                )
            failure = Failure(status=502, error=error.reason, message=error.message)
        else:
            failure = task.result()
        if not self._done:
            self._answer_failure(failure)

    def _answer_failure(self, failure: Failure) -> None:
        if self._began:
            # The answer began: cut the connection, so no client takes part of it for all.
            self._finish(self._status, failure.error)
            self._side.transport.close()
            return
        self._out.clear()
        headers, body = self._splicer.error_answer(
            failure.error, failure.message, self._head.request_id
        )
        if failure.headers:
            headers = [*headers, *failure.headers]
        head_only = self._head.method == "HEAD"
        head = self._response_head(failure.status, headers, head_only)
        # HEAD's answer says the length its body would have, and has none.
        self._out += (head,) if head_only else (head, body)
        self._flush_out()
        self._finish(failure.status, failure.error)
        self._respond_complete()

    def _respond_complete(self) -> None:
        self.response_complete = True
        side = self._side
        if not self.keep_alive and not self.disconnected:
            side.transport.close()
        side.exchange_done(self)

    def _finish(self, status: int, failure: str | None) -> None:
        if self._done:
            return
        self._done = True
        answer = None
        if self._answer_kept is not None and failure is None:
            answer = Captured(self._status, self._answer_headers, self._answer_kept.body())
        request_kept = self._request_kept
        # A body still coming when the answer ended (an upstream may answer from the head)
        # is not the request's: kept as it was, it would pass for the whole of it.
        request_body = (
            None if request_kept is None or not self._request_done else request_kept.body()
        )
        outcome = make_outcome(
            status, failure, perf_counter() - self._started, request_body, answer
        )
        try:
            self._splice.finished(outcome)
            self._splicer.spliced(self._head, outcome)
        except Exception:
            # A bug there must not leave the client's connection hanging.
            log.exception("recording the spliced request %s failed", self._head.request_id)


def make_exchange(
    side: ClientSide,
    head: RequestHead,
    splice: Splice,
    splicer: Splicer,
    expect_continue: bool,
) -> Exchange:
    """A new exchange (the wire's, for a spliced request): compiled, a C-level call
    filling the C struct, with no argument tuple to parse."""
    made = Exchange.__new__(Exchange)
    made._begin(side, head, splice, splicer, expect_continue)
    return made


def _check_read(connection: Connection) -> None:
    """The read timeout of whichever exchange uses `connection` now (none: it is idle)."""
    connection.timer = None
    sink = connection.sink
    if isinstance(sink, Exchange):
        sink._check_read(connection)


def gathered(length: bytes) -> bool:
    """Whether a Content-Length is digits only (as `bytes.isdigit`) and at most _GATHERED:
    compiled, a loop over C chars rather than a method call and an int made."""
    if not length:
        return False
    size = 0
    for digit in length:
        if digit < 48 or digit > 57:
            return False
        size = size * 10 + digit - 48
        if size > _GATHERED:
            return False
    return True


def _phrase(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""
