"""The worker process: one instance of a revision, or a stem cell waiting to become one.

Started by sandbox.py as `python -I -S -B -c BOOT <fd> <code_dir> <lib_dir> <http_fd>`.
It says Hello, waits for one Load frame, imports the handler and says Ready (or
LoadFailed), then serves Invoke frames until the gateway closes the socket. An ASGI app
also gets the listening socket `http_fd` for the requests the gateway passes straight
to it (http_serve.py); any other handler closes it.

Execution model: `concurrency` threads for a sync handler. The thread that reads a frame
runs the handler itself and writes the reply under the write lock: no work is handed
between threads on the hot path. Which thread reads next is baton.py's business. An
`async def` handler (and an ASGI app) gets one event loop thread instead, which reads
the socket itself once the worker is Ready (loop_io.py).

This module is the stem cell's whole import footprint, which is what a warm pool costs
in memory per instance: no asyncio, logging, traceback or socket.py unless needed.
"""

from __future__ import annotations

import _socket
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from runtime_adapters.files import DEPS_DIR
from runtime_adapters.python import limits
from runtime_adapters.python.baton import Baton
from runtime_adapters.python.capture import CURRENT, STDERR, STDOUT, Capture, CapturedStream
from runtime_adapters.python.events import Context, make_event
from runtime_adapters.python.handlers import (
    Handler,
    UnusableHandler,
    describe_exception,
    format_exception,
    is_coroutine_function,
    resolve_handler,
    resolve_web_app,
)
from runtime_adapters.python.protocol import (
    EXIT_INTERNAL,
    EXIT_MEMORY,
    HEADER_BYTES,
    Failed,
    FromWorker,
    Hello,
    Invoke,
    InvokeMany,
    Load,
    LoadFailed,
    ManyReplies,
    Ready,
    Reply,
    ToWorker,
    frame,
)
from runtime_adapters.python.responses import Headers, to_response

if TYPE_CHECKING:
    import asyncio

# Python 3.11 guards C recursion itself; 2 MiB is ample and keeps the address space that
# RLIMIT_AS sees small (glibc would reserve 8 MiB per thread).
THREAD_STACK_BYTES = 2 * 1024 * 1024
RECV_BYTES = 256 * 1024
Response = tuple[int, Headers, bytes]


def main(fd: int, code_dir: str, http_fd: int = -1) -> None:
    limits.apply_static()
    listener = _socket.socket(fileno=http_fd) if http_fd >= 0 else None
    Worker(_socket.socket(fileno=fd), code_dir, listener).run()


class FrameReader:
    """Length-prefixed frames from the gateway's socket, read from one shared buffer.

    Busy-polling here before blocking was measured: it cut ~60 µs off a lone request
    but cost ~15% of throughput under load on two cores, so the worker simply blocks.
    The gateway side busy-polls instead (busypoll.py).
    """

    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def rest(self) -> bytes:
        """What was read past the last frame returned (the loop takes over from here)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest

    def read(self) -> bytes:
        buffer = self._buffer
        while True:
            if len(buffer) >= HEADER_BYTES:
                end = HEADER_BYTES + int.from_bytes(buffer[:HEADER_BYTES], "big")
                if len(buffer) >= end:
                    payload = bytes(buffer[HEADER_BYTES:end])
                    del buffer[:end]
                    return payload
            self._fill()

    def _fill(self) -> None:
        # One recv may bring many frames: under load they are then read without a syscall.
        try:
            data = self._sock.recv(RECV_BYTES)
        except OSError:
            data = b""
        if not data:
            # The gateway closed the connection: it wants this worker gone.
            os._exit(0)
        self._buffer += data


class Worker:
    def __init__(
        self, sock: _socket.socket, code_dir: str, listener: _socket.socket | None = None
    ) -> None:
        self._sock = sock
        # Where the gateway passes HTTP requests to an ASGI app (http_serve.py); closed
        # unless one is loaded.
        self._listener = listener
        self._serves_http = False
        self._http_server: object = None
        self._code_dir = code_dir
        self._reader = FrameReader(sock)
        self._baton = Baton()  # which thread reads next (sync handlers)
        self._write_lock = threading.Lock()
        self._decode = msgspec.msgpack.Decoder(ToWorker).decode
        self._encoder = msgspec.msgpack.Encoder()
        self._handler: Handler = _unloaded
        # A handler function gets an `event` made from the wire event and its value is
        # mapped to a response; a web app's wrapper takes and gives the wire forms.
        self._make_event: Callable[[Any], Any] = make_event
        self._to_response: Callable[[Any], Response] = to_response
        self._meta = Load("", 0, "", {}, 0, 0.0, 1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # How a frame leaves: sendall under the write lock, or the event loop's
        # connection once it reads the socket (async handlers).
        self._write: Callable[[bytearray], None] = self._sendall
        self._shutdown: Callable[[], Awaitable[None]] | None = None  # the ASGI lifespan's

    def run(self) -> NoReturn:
        sys.stdout = CapturedStream(STDOUT, sys.__stdout__)  # type: ignore[arg-type]
        sys.stderr = CapturedStream(STDERR, sys.__stderr__)  # type: ignore[arg-type]
        self._send(Hello(os.getpid()))
        load = self._decode(self._read_frame())
        if type(load) is not Load:
            _fatal(f"expected a load frame, got {type(load).__name__}")
        # Helper threads start before the memory limit is measured, so their stacks and
        # malloc arenas count as the runtime's, not the function's (see limits.py).
        threading.stack_size(THREAD_STACK_BYTES)
        helpers = [self._serve_sync] * (load.concurrency - 1)
        if helpers:
            helpers.append(self._baton.watch)
        started = threading.Barrier(len(helpers) + 1)
        gate = threading.Event()
        for target in helpers:
            threading.Thread(target=self._helper, args=(started, gate, target), daemon=True).start()
        started.wait()
        try:
            self._prepare(load)
        except UnusableHandler as exc:
            self._send(LoadFailed(str(exc), "", "handler"))
            os._exit(0)
        except BaseException as exc:
            self._send(LoadFailed(describe_exception(exc), format_exception(exc)))
            os._exit(0)
        self._send(Ready(self._loop is not None, self._serves_http))
        gate.set()
        if self._loop is None:
            self._serve_sync()
        self._serve_async()

    def _prepare(self, load: Load) -> None:
        os.environ.update(load.env)
        os.chdir(self._code_dir)
        if load.interface == "asgi" and self._listener is not None:
            # Before the code's own path is searched: the app's requirements may hold
            # another uvicorn, which the worker's server must not become.
            import runtime_adapters.python.http_serve  # noqa: F401
        # The code first, then its installed requirements (gateway/dependencies.py).
        sys.path[:0] = [self._code_dir, os.path.join(self._code_dir, DEPS_DIR)]
        limits.limit_memory(load.memory_bytes)
        if load.interface:
            self._handler = resolve_web_app(load.handler, load.interface, threads=load.concurrency)
            self._make_event = self._to_response = _as_is
        else:
            self._handler = resolve_handler(load.handler)
        if is_coroutine_function(self._handler):
            self._start_loop()
        if load.interface == "asgi":
            self._start_lifespan()
            self._start_http(load)
        elif self._listener is not None:
            self._listener.close()
        self._meta = load

    def _start_http(self, load: Load) -> None:
        """Serve the app's HTTP on the inherited listener, beside the invocations."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        import asyncio
        import socket

        from runtime_adapters.python.http_serve import Invocations, serve_http

        assert self._loop is not None
        app: Any = self._handler
        sock = socket.socket(fileno=listener.detach())
        invocations = Invocations(load.function, load.revision, load.timeout_s)
        # Above the gateway client's 4 s idle timeout: it closes idle connections first.
        serving = serve_http(app.app, app.state, sock, invocations=invocations, keep_alive_s=5.0)
        # Held for the worker's life: a server nothing refers to may be collected, its
        # listening socket closed with it (seen: a worker started after another crashed
        # refused the gateway's connects until this reference was kept).
        self._http_server = asyncio.run_coroutine_threadsafe(serving, self._loop).result()
        self._serves_http = True

    def _start_lifespan(self) -> None:
        """The app's lifespan startup, once, before the worker says Ready; its shutdown
        when the gateway stops the worker (bounded by the gateway's stop grace)."""
        import asyncio

        assert self._loop is not None
        app: Any = self._handler
        asyncio.run_coroutine_threadsafe(app.startup(), self._loop).result()

        async def shut_down() -> None:
            try:
                await app.shutdown()
            except BaseException as exc:  # the worker exits anyway; say why it was unclean
                print(f"ASGI lifespan shutdown failed: {describe_exception(exc)}", file=sys.stderr)

        self._shutdown = shut_down

    def _start_loop(self) -> None:
        from runtime_adapters.python.loop_io import new_event_loop

        loop = new_event_loop()
        threading.Thread(target=loop.run_forever, name="gaia-async", daemon=True).start()
        self._loop = loop

    def _helper(
        self, started: threading.Barrier, gate: threading.Event, target: Callable[[], None]
    ) -> None:
        started.wait()
        gate.wait()
        if self._loop is None:  # async handlers need no helpers: the threads end
            target()

    def _serve_sync(self) -> NoReturn:
        self._baton.serve(self._next_invoke, self._serve)

    def _next_invoke(self) -> Invoke | InvokeMany:
        payload = self._read_frame()
        try:
            message: ToWorker = self._decode(payload)
        except msgspec.MsgspecError as exc:
            _fatal(f"undecodable frame: {exc}")
        if isinstance(message, Load):
            _fatal("unexpected Load frame after load")
        return message

    def _read_frame(self) -> bytes:
        return self._reader.read()

    def _send(self, message: FromWorker) -> None:
        self._write(frame(self._encoder, message))

    def _sendall(self, data: bytearray) -> None:
        with self._write_lock:
            try:
                self._sock.sendall(data)
            except OSError:
                os._exit(0)  # the gateway is gone; nobody is left to answer

    # --- sync handlers: run on the reading thread ------------------------------------

    def _serve(self, message: Invoke | InvokeMany) -> None:
        if type(message) is InvokeMany:
            replies: list[Reply | Failed] = []
            lap = self._baton.lap
            for item in message.items:
                lap()
                reply = self._call(item)
                replies.append(reply)
                if _failed_reply(reply):
                    break
            self._reply(ManyReplies(message.id, replies))
        else:
            self._reply(self._call(message))  # type: ignore[arg-type]

    def _reply(self, reply: Reply | Failed | ManyReplies) -> None:
        try:
            self._send(reply)
        except MemoryError:
            _out_of_memory()
        except BaseException as exc:
            # An invocation nobody answers would hang until its timeout: better to die.
            _fatal(f"cannot send the reply to invocation {reply.id}: {format_exception(exc)}")

    def _call(self, message: Invoke) -> Reply | Failed:
        capture = Capture()
        token = CURRENT.set(capture)
        try:
            value = self._handler(self._make_event(message.event), self._context(message))
            return _respond(message.id, capture, self._to_response(value))
        except MemoryError:
            _out_of_memory()
        except BaseException as exc:
            return _failed(message.id, capture, exc)
        finally:
            CURRENT.reset(token)

    # --- async handlers: one event loop thread -------------------------------------

    def _serve_async(self) -> NoReturn:
        """Hand the socket to the event loop, which reads, runs and replies from now on;
        this thread only waits (the loop ends the process when the gateway closes)."""
        import asyncio

        from runtime_adapters.python.loop_io import LoopConnection, attach

        assert self._loop is not None
        connection = LoopConnection(
            self._loop,
            dispatch=self._spawn,
            fatal=_fatal,
            on_close=self._shutdown,
            buffered=self._reader.rest(),
        )
        # Replies go through the loop from the first invocation it reads on.
        self._write = connection.write
        handed = attach(self._sock.detach(), connection)
        asyncio.run_coroutine_threadsafe(handed, self._loop).result()
        while True:
            threading.Event().wait()

    def _spawn(self, message: Invoke | InvokeMany) -> None:
        assert self._loop is not None
        work = (
            self._call_many_async(message)
            if type(message) is InvokeMany
            else self._call_async(message)  # type: ignore[arg-type]
        )
        task = self._loop.create_task(work)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _call_async(self, message: Invoke) -> None:
        self._reply(await self._outcome_async(message))

    async def _call_many_async(self, message: InvokeMany) -> None:
        replies: list[Reply | Failed] = []
        for item in message.items:
            reply = await self._outcome_async(item)
            replies.append(reply)
            if _failed_reply(reply):
                break
        self._reply(ManyReplies(message.id, replies))

    async def _outcome_async(self, message: Invoke) -> Reply | Failed:
        capture = Capture()
        token = CURRENT.set(capture)
        try:
            value = await self._handler(self._make_event(message.event), self._context(message))
            return _respond(message.id, capture, self._to_response(value))
        except MemoryError:
            _out_of_memory()
        except BaseException as exc:
            return _failed(message.id, capture, exc)
        finally:
            CURRENT.reset(token)

    def _context(self, message: Invoke) -> Context:
        meta = self._meta
        return Context(
            meta.function,
            meta.revision,
            message.alias,
            message.request_id,
            message.trigger,
            time.monotonic() + message.timeout_ms / 1000,
            message.traceparent or None,
        )


def _respond(request_id: int, capture: Capture, response: Response) -> Reply:
    status, headers, body = response
    if capture.streams is None and capture.logs is None:
        return Reply(request_id, status, headers, body)
    return Reply(
        request_id,
        status,
        headers,
        body,
        capture.text(STDOUT),
        capture.text(STDERR),
        capture.logs or [],
    )


def _failed(request_id: int, capture: Capture, exc: BaseException) -> Failed:
    return Failed(
        request_id,
        describe_exception(exc),
        format_exception(exc),
        capture.text(STDOUT),
        capture.text(STDERR),
        capture.logs or [],
    )


def _failed_reply(reply: Reply | Failed) -> bool:
    """Where an InvokeMany stops: what a queue trigger would retry."""
    return type(reply) is Failed or reply.status >= 500  # type: ignore[union-attr]


def _as_is(value: Any) -> Any:
    return value


def _unloaded(event: Any, context: Context) -> Any:
    raise RuntimeError("no handler loaded")


def _out_of_memory() -> NoReturn:
    # After a MemoryError any state in this process may be half-built; the gateway
    # fails the invocation and replaces the worker. No cleanup: it could allocate.
    os._exit(EXIT_MEMORY)


def _fatal(message: str) -> NoReturn:
    os.write(2, f"gaia worker: {message}\n".encode())
    os._exit(EXIT_INTERNAL)
