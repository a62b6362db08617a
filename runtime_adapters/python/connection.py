"""The gateway's end of one worker's socket: an asyncio.Protocol multiplexing frames.

This is the hot path. Frames are parsed straight out of the bytes the loop hands us
(a buffer is only used when a frame straddles two reads), and replies resolve futures
looked up by integer id. Requests sent in one pass of the event loop go out in one
write at its end: a queue trigger dispatching a fetched batch then wakes the worker
once, not once per event (a wake-up on another CPU costs more than a fast invocation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol, cast

import msgspec

from runtime_adapters.base import HttpRequest, Invocation, InvocationTimeout
from runtime_adapters.python.busypoll import BusyPoll
from runtime_adapters.python.protocol import (
    HEADER_BYTES,
    MAX_FRAME_BYTES,
    Failed,
    FromWorker,
    Hello,
    HttpEvent,
    Invoke,
    InvokeMany,
    Load,
    LoadFailed,
    ManyReplies,
    Ready,
    Reply,
    frame,
)

Outcome = Reply | Failed | ManyReplies

_encoder = msgspec.msgpack.Encoder()
_decode = msgspec.msgpack.Decoder(FromWorker).decode


class ConnectionOwner(Protocol):
    """What the connection reports to (the Instance)."""

    def connection_closed(self) -> None: ...

    def protocol_error(self, reason: str) -> None: ...

    def late_reply(self) -> None:
        """A reply arrived for an invocation whose caller had gone (cancelled)."""

    def invocation_expired(self) -> None:
        """An invocation outlived its timeout; the worker may still be running it."""


class WorkerConnection(asyncio.Protocol):
    def __init__(
        self,
        owner: ConnectionOwner,
        loop: asyncio.AbstractEventLoop,
        *,
        poller: BusyPoll | None = None,
    ) -> None:
        self._owner = owner
        self._buffer = bytearray()
        self._pending: dict[int, asyncio.Future[Outcome]] = {}
        self._last_id = 0
        self._transport: asyncio.Transport | None = None
        self._loaded: asyncio.Future[Ready | LoadFailed] | None = None
        self.hello: asyncio.Future[Hello] = loop.create_future()
        self.timeout_message = "invocation timed out"
        self._poller = poller
        self._loop = loop
        self._outbox: bytearray | None = None  # frames waiting for the end of this pass

    # --- requests ----------------------------------------------------------------

    def send(self, future: asyncio.Future[Outcome], invocation: Invocation, timeout_ms: int) -> int:
        """Write one invocation; `future` gets its Reply or Failed. Returns the wire id."""
        request_id = self._last_id = self._last_id + 1
        message = _invoke(request_id, invocation, timeout_ms)
        self._write(message, future, request_id, poll=invocation.urgent)
        return request_id

    def send_many(
        self,
        future: asyncio.Future[Outcome],
        invocations: Sequence[Invocation],
        timeout_ms: int,
    ) -> int:
        """Write invocations to run in order (InvokeMany); `future` gets ManyReplies."""
        request_id = self._last_id = self._last_id + 1
        items = [_invoke(n, item, timeout_ms) for n, item in enumerate(invocations)]
        # No busy-polling for the answer: a run takes longer than the window, and the
        # spinning would take CPU from the worker running it.
        self._write(InvokeMany(request_id, items), future, request_id, poll=False)
        return request_id

    def _write(
        self,
        message: Invoke | InvokeMany,
        future: asyncio.Future[Outcome],
        request_id: int,
        *,
        poll: bool = True,
    ) -> None:
        assert self._transport is not None
        data = frame(_encoder, message)
        if self._outbox is None:
            self._outbox = data
            self._loop.call_soon(self._flush)
        else:
            self._outbox += data
        self._pending[request_id] = future
        if self._poller is not None:
            if poll:
                self._poller.expect_reply()
            else:
                self._poller.unhurried += 1

    def _flush(self) -> None:
        data, self._outbox = self._outbox, None
        if data is not None and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def expire(self, request_id: int) -> None:
        """The invocation's timer fired (scheduled by the pool with call_later)."""
        future = self._pending.pop(request_id, None)
        if future is None:
            return
        if not future.done():
            future.set_exception(InvocationTimeout(self.timeout_message))
        self._owner.invocation_expired()

    def load(
        self, message: Load, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[Ready | LoadFailed]:
        assert self._transport is not None and self._loaded is None
        self._loaded = loop.create_future()
        self._transport.write(frame(_encoder, message))
        return self._loaded

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def fail_all(self, error: Callable[[], BaseException]) -> None:
        """Fail every waiter (the worker is gone); `error` makes one exception each."""
        pending = list(self._pending.values())
        self._pending.clear()
        for future in pending:
            if not future.done():
                future.set_exception(error())
        for control in (self.hello, self._loaded):
            if control is not None and not control.done():
                control.set_exception(error())
                control.exception()  # nobody may be waiting (a spare that never booted)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffered = bool(buffer)  # only a frame split across reads needs the copy
        if buffered:
            buffer += data
        view = memoryview(buffer if buffered else data)
        offset, end = 0, len(view)
        try:
            while end - offset >= HEADER_BYTES:
                start = offset + HEADER_BYTES
                size = int.from_bytes(view[offset:start], "big")
                if size > MAX_FRAME_BYTES:
                    self._owner.protocol_error(f"worker announced a {size}-byte frame")
                    return
                if start + size > end:
                    break
                message = _decode(view[start : start + size])
                offset = start + size
                self._dispatch(message)
        except msgspec.MsgspecError as exc:
            self._owner.protocol_error(f"worker sent an undecodable frame: {exc}")
        finally:
            rest = view[offset:] if not buffered and offset < end else None
            if rest is not None:
                buffer += rest
                rest.release()
            view.release()
            if buffered:
                del buffer[:offset]

    def _dispatch(self, message: FromWorker) -> None:
        if isinstance(message, Reply | Failed | ManyReplies):
            future = self._pending.pop(message.id, None)
            if future is None:
                return  # expired: its slot was already given back
            if future.done():  # the caller was cancelled; the slot is free only now
                self._owner.late_reply()
                return
            future.set_result(message)
        elif isinstance(message, Hello):
            if not self.hello.done():
                self.hello.set_result(message)
        elif self._loaded is not None and not self._loaded.done():
            self._loaded.set_result(message)  # Ready or LoadFailed
        else:
            self._owner.protocol_error(f"unexpected {type(message).__name__} frame")

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.connection_closed()


def _invoke(request_id: int, invocation: Invocation, timeout_ms: int) -> Invoke:
    event = invocation.event
    wire: HttpEvent | dict[str, object]
    if type(event) is HttpRequest:
        wire = HttpEvent(
            event.method,
            event.path,
            event.query_string,
            event.headers,
            event.params,
            event.body,
            event.raw_path,
        )
    else:
        wire = event  # type: ignore[assignment]
    return Invoke(
        request_id,
        invocation.request_id,
        invocation.trigger,
        invocation.alias,
        timeout_ms,
        wire,
        invocation.traceparent,
    )
