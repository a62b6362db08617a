"""The worker's socket on its event loop, for `async def` handlers and ASGI apps.

Sync handlers are served by threads that read the socket themselves (worker.py). An
async handler runs on the event loop thread, so the loop reads the socket too: an
invocation then goes from the socket to its task without a hand-off between threads
(each hand-off wakes a sleeping thread, which on a VM costs more than a small app's
whole request), and replies made in one pass of the loop leave in one write at its end,
as the gateway batches its requests.

Imported only when a worker loads an async handler: a stem cell never pays for asyncio.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any, NoReturn, cast

import msgspec

from runtime_adapters.python.protocol import (
    HEADER_BYTES,
    Invoke,
    InvokeMany,
    Load,
    ToWorker,
)

Dispatch = Callable[[Invoke | InvokeMany], None]
Fatal = Callable[[str], NoReturn]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed (as uvicorn picks by default, so an app runs
    as it did on uvicorn), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return cast(asyncio.AbstractEventLoop, uvloop.new_event_loop())


class LoopConnection(asyncio.Protocol):
    """Frames from the gateway to `dispatch` (on the loop thread); `write` queues a
    reply frame for the end of this pass. When the gateway closes the socket, `on_close`
    runs (the ASGI lifespan's shutdown) and the process exits."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        dispatch: Dispatch,
        fatal: Fatal,
        on_close: Callable[[], Any] | None,
        buffered: bytes,
    ) -> None:
        self._dispatch = dispatch
        self._fatal = fatal
        self._on_close = on_close
        self._decode = msgspec.msgpack.Decoder(ToWorker).decode
        self._buffer = bytearray(buffered)
        self._transport: asyncio.Transport | None = None
        self._outbox: bytearray | None = None
        self._loop = loop
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if self._buffer:  # frames that came with the Load, before the loop took over
            self.data_received(b"")

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        offset, end = 0, len(buffer)
        while end - offset >= HEADER_BYTES:
            start = offset + HEADER_BYTES
            stop = start + int.from_bytes(buffer[offset:start], "big")
            if stop > end:
                break
            try:
                message = self._decode(memoryview(buffer)[start:stop])
            except msgspec.MsgspecError as exc:
                self._fatal(f"undecodable frame: {exc}")
            if type(message) is Load:
                self._fatal("unexpected Load frame after load")
            offset = stop
            self._dispatch(cast(Invoke | InvokeMany, message))
        del buffer[:offset]

    def write(self, data: bytearray) -> None:
        """Queue a frame (taken over, not copied) for the end of this pass."""
        if self._outbox is None:
            self._outbox = data
            self._loop.call_soon(self._flush)
        else:
            self._outbox += data

    def _flush(self) -> None:
        data, self._outbox = self._outbox, None
        if data is not None and self._transport is not None:
            self._transport.write(data)

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        # The gateway closed the connection (it wants this worker gone), or a write
        # failed: nobody is left to answer.
        if not self._closing:
            self._closing = True
            self._loop.create_task(self._exit())

    async def _exit(self) -> NoReturn:
        if self._on_close is not None:
            await self._on_close()
        os._exit(0)


async def attach(fd: int, connection: LoopConnection) -> None:
    """Hand the socket `fd` to the running loop, read into `connection`."""
    sock = socket.socket(fileno=fd)
    await asyncio.get_running_loop().create_unix_connection(lambda: connection, sock=sock)
