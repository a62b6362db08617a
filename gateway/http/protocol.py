"""uvicorn's httptools protocol with a head timeout, a head size cap and a connection cap,
writing a response's head together with its first body chunk.

Why a subclass: uvicorn has none of the three for httptools. Its keep-alive timer stops
at the first byte of a request, so a client sending a byte every 100 ms holds a
connection as long as it likes, and one that connects and sends nothing is never timed
out; httptools (llhttp) takes heads of any size; `limit_concurrency` counts tasks too
and answers in plain text, uncounted. The checks sit in the parser callbacks (the
protocol's `RequestWire`, gateway/http/wire.py), so a request costs a few attribute writes
and no allocation; each
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
from typing import Any, ClassVar

from uvicorn._types import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
)
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from gateway.http.limits import HttpCounters, HttpLimits, Refusal, RefusalReason, refusals
from gateway.http.splice import Splicer
from gateway.http.wire import RequestWire, expects_continue

# A timer may fire a little before its time (the loop rounds to its clock resolution).
_EARLY_S = 0.001
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

    over_cap = False  # the connection came beyond the limit
    _head_timer: asyncio.TimerHandle | None = None

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The parser calls the wire, not the protocol (gateway/http/wire.py says why).
        wire = self._wire = RequestWire(self)
        self.parser = wire.parser
        # So does the transport, for every read, and a cycle at its answer's end: uvloop's
        # transport keeps the `data_received` it finds on the protocol when it is made
        # (after this), uvicorn's cycle the `on_response_complete` when it is made. Bound
        # here, both are the wire's (compiled, no interpreted frame per request).
        self.data_received = wire.data_received  # type: ignore[method-assign]
        self.on_response_complete = wire.response_complete  # type: ignore[method-assign]

    # --- connection --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wire.connected(transport)
        now = self.loop.time()
        self._wire.head_started = now
        self.over_cap = len(self.connections) > self.limits.max_connections
        self._head_timer = self.loop.call_at(now + self.limits.header_timeout_s, self._check_head)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        exchange = self._wire.exchange
        if exchange is not None:
            exchange.client_lost()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        exchange = self._wire.exchange
        if exchange is not None:
            exchange.client_paused()

    def resume_writing(self) -> None:
        super().resume_writing()
        exchange = self._wire.exchange
        if exchange is not None:
            exchange.client_resumed()

    def _check_head(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        timeout = self.limits.header_timeout_s
        started = self._wire.head_started
        now = self.loop.time()
        if started is None:
            self._head_timer = self.loop.call_at(now + timeout, self._check_head)
        elif now + _EARLY_S >= started + timeout:
            # Bytes of a head: answer 408 (RFC 9110). None at all: the client never
            # started a request, so there is nothing to answer; close, as nginx does.
            self.refuse_head("header_timeout", answer=self._wire.head_bytes > 0)
        else:
            self._head_timer = self.loop.call_at(started + timeout, self._check_head)

    # --- what the wire's data_received and response_complete rarely need -------------

    def bad_request(self) -> None:
        """The parser took the client's bytes for no HTTP request: uvicorn's 400."""
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    def upgrade_requested(self) -> None:
        """A complete head asked for an upgrade: uvicorn's answer to it."""
        if self._should_upgrade():
            self.handle_websocket_upgrade()
        else:
            self._unsupported_upgrade_warning()

    def next_pipelined(self) -> None:
        """The answer before it is complete: the first queued request's cycle starts."""
        cycle, app = self.pipeline.pop()
        self._start_asgi_task(cycle, app)

    # --- keep-alive: uvicorn makes and cancels a timer per request; here one is re-armed ---

    def _unset_keepalive_if_required(self) -> None:
        # uvicorn calls it on every read: the connection is busy, its timer may stay.
        self._wire.idle_since = None

    def arm_keep_alive(self, now: float) -> None:
        """The connection is idle from `now`, and has no keep-alive timer."""
        self.timeout_keep_alive_task = self.loop.call_at(
            now + self.timeout_keep_alive, self._check_keep_alive
        )

    def _check_keep_alive(self) -> None:
        self.timeout_keep_alive_task = None
        idle = self._wire.idle_since
        if idle is None or self.transport.is_closing():
            return  # busy: the next answer's end arms it again
        deadline = idle + self.timeout_keep_alive
        if self.loop.time() + _EARLY_S >= deadline:
            self.timeout_keep_alive_handler()
        else:
            self.timeout_keep_alive_task = self.loop.call_at(deadline, self._check_keep_alive)

    def start_cycle(self) -> None:
        """uvicorn's ASGI cycle for the head the wire handed over."""
        noted = self._wire.noted
        self.expect_100_continue = noted is not None and expects_continue(noted)
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

    def refuse_request(self, reason: RefusalReason) -> None:
        """Answer this complete request with the refusal, then close the connection."""
        self.counters.refused[reason] += 1
        app = self.app
        self.app = self._apps[reason]
        try:
            self.start_cycle()
        finally:
            self.app = app

    def refuse_head(self, reason: RefusalReason, *, answer: bool) -> None:
        self.counters.refused[reason] += 1
        self._wire.head_started = None
        if answer:
            self.transport.write(self._refusals[reason].raw(self.server_state.default_headers))
        self.transport.close()
