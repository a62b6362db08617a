"""uvicorn's httptools protocol with a head timeout, a head size cap and a connection cap,
writing a response's head together with its first body chunk.

Why a subclass: uvicorn has none of the three for httptools. Its keep-alive timer stops
at the first byte of a request, so a client sending a byte every 100 ms holds a
connection as long as it likes, and one that connects and sends nothing is never timed
out; httptools (llhttp) takes heads of any size; `limit_concurrency` counts tasks too
and answers in plain text, uncounted. The checks sit in the parser callbacks uvicorn
already runs, so a request costs a few attribute writes and no allocation; each
connection has one timer, re-armed once per `header_timeout_s`, not one per request.

A refused head that completed is answered through uvicorn's own request cycle (the
refusal is the ASGI app for that request, as uvicorn does for `limit_concurrency`), so
keep-alive and the unread body are handled as for any response; one that never
completed is written to the socket directly and the connection closed.

uvicorn writes a response's head and each body chunk with a `write` of its own, and
uvloop sends each at once: a short answer costs two send(2) calls and wakes the client
twice. Each request's cycle here holds the head back until the body's first chunk and
writes both at once; a head whose body does not follow within the same turn of the
event loop (a stream that waits for its first chunk) goes out on its own at the end of
that turn, so no client waits longer for a head than before.

A request the `splicer` (the data plane) takes is spliced instead (gateway/http/splice.py):
no ASGI cycle, its body handed to the `Exchange` as it is parsed. One arriving while an
earlier request on the connection is still being answered (pipelined) takes the ASGI
cycle, which queues it behind the earlier one.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar
from urllib.parse import unquote

import httptools
from uvicorn._types import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
)
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from gateway.http.exchange import Exchange
from gateway.http.limits import HttpCounters, HttpLimits, Refusal, RefusalReason, refusals
from gateway.http.splice import RequestHead, Splicer

_METHODS = {
    name.encode("ascii"): name
    for name in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
}
# A timer may fire a little before its time (the loop rounds to its clock resolution).
_EARLY_S = 0.001
# The fields the protocol and the exchange act on, noted as the head is parsed.
_NOTED = frozenset({b"expect", b"connection", b"content-length", b"transfer-encoding"})
# The request line's fixed parts, " HTTP/1.1\r\n", and the head's closing CRLF.
_REQUEST_LINE_EXTRA = 13
# A first chunk up to this size is copied behind the head into one buffer; a longer one
# goes out beside it from its own (one writev, no copy).
_JOINED_MAX = 64 * 1024


def _answer(refused: Refusal) -> ASGI3Application:
    start = {"type": "http.response.start", "status": refused.status, "headers": refused.headers}
    body = {"type": "http.response.body", "body": refused.body}

    async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        await send(start)  # type: ignore[arg-type]
        await send(body)  # type: ignore[arg-type]

    return app


class _Kept:
    """Stands in for the transport while uvicorn writes a message: keeps what it wrote."""

    __slots__ = ("closed", "parts")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class _OneWriteCycle(RequestResponseCycle):
    """uvicorn's request cycle, but a response's head goes out with its first chunk."""

    _head: bytes | None = None
    _flush: asyncio.Handle | None = None

    async def send(self, message: ASGISendEvent) -> None:
        if self._head is None:
            if self.response_started or message["type"] != "http.response.start":
                await super().send(message)
                return
            kept = await self._kept(message)
            if kept.parts:  # nothing when the client is gone
                self._head = b"".join(kept.parts)
                self._flush = asyncio.get_running_loop().call_soon(self._flush_head)
            return
        kept = await self._kept(message)
        head, self._head = self._head, None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if not self.disconnected:
            if head is None or not kept.parts:
                self.transport.writelines(kept.parts if head is None else [head])
            elif len(kept.parts) == 1 and len(kept.parts[0]) <= _JOINED_MAX:
                self.transport.write(head + kept.parts[0])
            else:
                self.transport.writelines([head, *kept.parts])
        if kept.closed:
            self.transport.close()

    async def _kept(self, message: ASGISendEvent) -> _Kept:
        """uvicorn's own handling of `message`, its writes kept rather than sent."""
        transport, kept = self.transport, _Kept()
        self.transport = kept  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = transport
        return kept

    def _flush_head(self) -> None:
        self._flush = None
        head, self._head = self._head, None
        if head is not None and not self.disconnected and not self.transport.is_closing():
            self.transport.write(head)


class GuardedHttpTools(HttpToolsProtocol):
    """`GuardedHttpTools.configured(limits, counters, splicer)` is the class to give
    uvicorn as `http`: the limits, counters and splicer are class attributes, since
    uvicorn makes each connection's protocol itself."""

    limits: ClassVar[HttpLimits]
    counters: ClassVar[HttpCounters]
    splicer: ClassVar[Splicer | None] = None
    _refusals: ClassVar[dict[RefusalReason, Refusal]]
    _apps: ClassVar[dict[RefusalReason, ASGI3Application]]

    # When the current request head began (the accept, for a connection's first
    # request); None from its end until the next request's first byte.
    _head_started: float | None = None
    _head_bytes = 0  # received for the current head, in chunks that did not complete it
    _chunk_bytes = 0  # the chunk being parsed
    _over_cap = False
    _head_timer: asyncio.TimerHandle | None = None
    # A spliced request whose answer is not complete yet, and one whose body is being read.
    _exchange: Exchange | None = None
    _body_to: Exchange | None = None
    # When the connection's last answer ended, while no next request has begun: the
    # keep-alive timeout counts from it.
    _idle_since: float | None = None
    # The fields of the current head in _NOTED (the first value of each), None for none.
    _noted: dict[bytes, bytes] | None = None

    @classmethod
    def configured(
        cls, limits: HttpLimits, counters: HttpCounters, splicer: Splicer | None = None
    ) -> type[GuardedHttpTools]:
        made = refusals(limits)
        namespace = {
            "limits": limits,
            "counters": counters,
            "splicer": splicer,
            "_refusals": made,
            "_apps": {reason: _answer(refused) for reason, refused in made.items()},
        }
        return type(cls.__name__, (cls,), namespace)

    # --- connection --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = self.loop.time()
        self._head_started = now
        self._over_cap = len(self.connections) > self.limits.max_connections
        self._head_timer = self.loop.call_at(now + self.limits.header_timeout_s, self._check_head)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        if self._exchange is not None:
            self._exchange.client_lost()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._exchange is not None:
            self._exchange.client_paused()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._exchange is not None:
            self._exchange.client_resumed()

    def _check_head(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        timeout = self.limits.header_timeout_s
        started = self._head_started
        now = self.loop.time()
        if started is None:
            self._head_timer = self.loop.call_at(now + timeout, self._check_head)
        elif now + _EARLY_S >= started + timeout:
            # Bytes of a head: answer 408 (RFC 9110). None at all: the client never
            # started a request, so there is nothing to answer; close, as nginx does.
            self._refuse_head("header_timeout", answer=self._head_bytes > 0)
        else:
            self._head_timer = self.loop.call_at(started + timeout, self._check_head)

    # --- bytes and parser callbacks --------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._chunk_bytes = len(data)
        super().data_received(data)
        if self._exchange is not None:
            self._exchange.client_fed()
        if self._head_started is not None and not self.transport.is_closing():
            # The chunk ended inside a head: count it (with any earlier request it held).
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse_head("header_too_large", answer=True)

    def on_message_begin(self) -> None:
        # uvicorn's, but the scope is made in _start_cycle: a spliced request needs none.
        self.url = b""
        self.headers = []
        self._noted = None
        if self._head_started is None:
            self._head_started = self.loop.time()
        self._head_bytes = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self.headers.append((name, value))
        if name in _NOTED:  # one set look-up for the fields most requests do not have
            self._note(name, value)

    def _note(self, name: bytes, value: bytes) -> None:
        noted = self._noted
        if noted is None:
            noted = self._noted = {}
        noted.setdefault(name, value)

    def on_headers_complete(self) -> None:
        self._head_started = None
        limit = self.limits.max_header_bytes
        # The exact size is summed only when this chunk could hold an oversized head.
        if self._head_bytes + self._chunk_bytes > limit and self._head_size() > limit:
            self._refuse_request("header_too_large")
        elif self._over_cap:
            self._refuse_request("too_many_connections")
        else:
            self._dispatch()

    def on_body(self, body: bytes) -> None:
        exchange = self._body_to
        if exchange is None:
            super().on_body(body)
        else:
            exchange.request_body(body)

    def on_message_complete(self) -> None:
        exchange = self._body_to
        if exchange is None:
            super().on_message_complete()
        else:
            self._body_to = None
            exchange.request_end()

    # --- where a request goes ----------------------------------------------------------

    def _dispatch(self) -> None:
        splicer = self.splicer
        cycle = self.cycle
        noted = self._noted
        if (
            splicer is not None
            and (cycle is None or cycle.response_complete)
            and not self.parser.should_upgrade()
        ):
            head = self._request_head(noted)
            splice = splicer.splice(head)
            if splice is not None:
                self.counters.spliced += 1
                expect = noted is not None and self._expects_continue(noted)
                exchange = Exchange(self, head, splice, splicer, expect)
                # As uvicorn's cycle: later requests queue behind it, a shutdown waits for it.
                self.cycle = exchange  # type: ignore[assignment]
                self._exchange = self._body_to = exchange
                exchange.start()
                return
        self._start_cycle()

    def _request_head(self, noted: dict[bytes, bytes] | None) -> RequestHead:
        """The head as uvicorn's scope would give it."""
        parser = self.parser
        keep_alive = parser.should_keep_alive()
        if keep_alive and (noted is None or b"connection" not in noted):
            # HTTP/1.0 keeps a connection only when Connection asks it to: this is 1.1.
            # (Asking the parser for its version costs a microsecond, the most of any
            # step here.)
            http_version = "1.1"
        else:
            http_version = parser.get_http_version()
            keep_alive = keep_alive and http_version != "1.0"
        url = self.url
        if url[:1] == b"/" and b"#" not in url:
            # Origin form, as nearly every request's: split here rather than by
            # httptools.parse_url (which gives the same), a microsecond less.
            raw_path, _, query = url.partition(b"?")
        else:
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path, parsed.query or b""
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        root = self.root_path
        if root:
            path, raw_path = root + path, root.encode("ascii") + raw_path
        method = parser.get_method()
        # Positional: see gateway/http/splice.py.
        head = RequestHead(
            _METHODS.get(method) or method.decode("ascii"),
            path,
            raw_path,
            query,
            self.headers,
            self.client,
            self.scheme or "http",
            http_version,
            keep_alive,
        )
        if noted is not None:
            # llhttp has checked them: at most one length, and never beside chunked.
            length = noted.get(b"content-length")
            head.content_length = None if length is None else int(length)
            head.chunked = b"transfer-encoding" in noted
        return head

    @staticmethod
    def _expects_continue(noted: dict[bytes, bytes]) -> bool:
        expect = noted.get(b"expect")
        return expect is not None and expect.lower() == b"100-continue"

    # --- keep-alive: uvicorn makes and cancels a timer per request; here one is re-armed ---

    def _unset_keepalive_if_required(self) -> None:
        # uvicorn calls it on every read: the connection is busy, its timer may stay.
        self._idle_since = None

    def on_response_complete(self) -> None:
        # uvicorn's, but for its keep-alive timer.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # a call fewer per answer when not (nearly always)
            self.flow.resume_reading()
        if self.pipeline:
            self._idle_since = None
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = now = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_at(
                now + self.timeout_keep_alive, self._check_keep_alive
            )

    def _check_keep_alive(self) -> None:
        self.timeout_keep_alive_task = None
        idle = self._idle_since
        if idle is None or self.transport.is_closing():
            return  # busy: the next answer's end arms it again
        deadline = idle + self.timeout_keep_alive
        if self.loop.time() + _EARLY_S >= deadline:
            self.timeout_keep_alive_handler()
        else:
            self.timeout_keep_alive_task = self.loop.call_at(deadline, self._check_keep_alive)

    def exchange_done(self, exchange: Exchange) -> None:
        """The spliced request's answer is complete (`Exchange` calls it)."""
        if self._exchange is exchange:
            self._exchange = None
        self.on_response_complete()

    def _start_cycle(self) -> None:
        noted = self._noted
        self.expect_100_continue = noted is not None and self._expects_continue(noted)
        # uvicorn's on_message_begin makes this scope; its on_headers_complete fills it in.
        self.scope = {  # type: ignore[typeddict-item]
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,  # type: ignore[typeddict-item]
            "root_path": self.root_path,
            "headers": self.headers,
            "state": self.app_state.copy(),
        }
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not cycle and type(self.cycle) is RequestResponseCycle:
            # uvicorn builds its own cycle class inline; this one only changes how
            # `send` writes, and its task has not run yet.
            self.cycle.__class__ = _OneWriteCycle

    def send_400_response(self, msg: str) -> None:
        self.counters.refused["bad_request"] += 1
        super().send_400_response(msg)

    # --- refusing --------------------------------------------------------------------

    def _head_size(self) -> int:
        method = self.parser.get_method()
        fields = sum(len(name) + len(value) + 4 for name, value in self.headers)
        return len(method) + 1 + len(self.url) + _REQUEST_LINE_EXTRA + fields

    def _refuse_request(self, reason: RefusalReason) -> None:
        """Answer this complete request with the refusal, then close the connection."""
        self.counters.refused[reason] += 1
        app = self.app
        self.app = self._apps[reason]
        try:
            self._start_cycle()
        finally:
            self.app = app

    def _refuse_head(self, reason: RefusalReason, *, answer: bool) -> None:
        self.counters.refused[reason] += 1
        self._head_started = None
        if answer:
            self.transport.write(self._refusals[reason].raw(self.server_state.default_headers))
        self.transport.close()
