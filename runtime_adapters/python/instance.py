"""One worker process: a stem cell until `load`, then an instance of one revision.

An Instance owns the process (through a SubprocessProtocol that also reads the
worker's fd 1/2) and its socket (a WorkerConnection). It notices death from either side
(EOF on the socket, the process exiting), waits for the return code to say what
happened, and fails only its own in-flight invocations with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Protocol

from runtime_adapters.base import InstanceLost, RevisionSpec, WarmupError
from runtime_adapters.files import link_or_copy
from runtime_adapters.pool import State
from runtime_adapters.process import ProcessRecord, ProcessWatch
from runtime_adapters.python.busypoll import BusyPoll
from runtime_adapters.python.connection import WorkerConnection
from runtime_adapters.python.logs import LogSink, emit_output
from runtime_adapters.python.protocol import Load, LoadFailed
from runtime_adapters.python.sandbox import Sandbox
from runtime_adapters.python.settings import interface_of
from runtime_adapters.slots import SlotCounts

log = logging.getLogger("gaia.runtime.python")


class InstanceOwner(Protocol):
    """Who an instance reports to: the spare pool, then the revision's pool."""

    def instance_died(self, instance: Instance) -> None: ...

    def instance_released(self, instance: Instance) -> None:
        """A slot came free late: a cancelled caller's invocation finished."""

    def instance_expired(self, instance: Instance) -> None:
        """One of its invocations timed out (it may still be running)."""


class Instance(SlotCounts):
    def __init__(
        self,
        *,
        ident: str,
        slot: Path,
        network: bool,
        sandbox: Sandbox,
        sink: LogSink,
        stop_grace_s: float,
        poller: BusyPoll | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.ident = ident
        self.slot = slot
        self.network = network
        self.state: State = "spare"
        self.owner: InstanceOwner | None = None
        self.spec: RevisionSpec | None = None
        self.memory = ""
        # Hot-path fields, read and written by the pool on every invocation.
        self.concurrency = 1
        self.in_flight = 0
        self.last_used = loop.time()
        self.conn = WorkerConnection(self, loop, poller=poller)
        # Where the worker's own HTTP server listens once an ASGI app is loaded there
        # (http_serve.py); None while it serves invocations only.
        self.http_path: str | None = None
        self._listen_path = slot.with_name(f"{slot.name}.http")
        self._loop = loop
        self._sandbox = sandbox
        self._sink = sink
        self._stop_grace_s = stop_grace_s
        self._process: asyncio.SubprocessTransport | None = None
        self._record = ProcessRecord(loop)
        self._buried: asyncio.Future[None] = loop.create_future()
        self._burying: asyncio.Task[None] | None = None
        self._stop_reason: str | None = None
        self._lost_message = ""

    @property
    def name(self) -> str:
        return f"{self.spec.key}#{self.ident}" if self.spec else f"spare#{self.ident}"

    async def spawn(self) -> None:
        """Start the worker process; it boots (imports the runtime) in the background."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        listener = _listen(self._listen_path)
        fds = (child.fileno(),) if listener is None else (child.fileno(), listener.fileno())
        try:
            argv = self._sandbox.command(
                slot=self.slot,
                fd=child.fileno(),
                http_fd=-1 if listener is None else listener.fileno(),
                network=self.network,
            )
            self._process, _ = await self._loop.subprocess_exec(
                lambda: ProcessWatch(self),
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._sandbox.env,
                pass_fds=fds,
                start_new_session=True,  # a Ctrl-C meant for the gateway is not the worker's
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
            if listener is not None:
                listener.close()  # the worker's now; the gateway connects by its path
        try:
            await self._loop.create_unix_connection(lambda: self.conn, sock=parent)
        except BaseException:  # cancelled (runtime closing): leave no orphan behind
            parent.close()
            self._signal(signal.SIGKILL)
            raise

    async def booted(self) -> None:
        """Wait until the worker has imported the runtime (raises InstanceLost if it died)."""
        await asyncio.shield(self.conn.hello)

    async def load(self, spec: RevisionSpec, *, owner: InstanceOwner, timeout_s: float) -> None:
        """Make this stem cell an instance of `spec`; WarmupError if the handler won't load."""
        self.state = "loading"
        self.spec = spec
        self.memory = format_bytes(spec.memory_bytes)
        self.concurrency = spec.concurrency
        self.conn.timeout_message = f"{spec.key} did not answer within {spec.timeout_s:g}s"
        try:
            # Hard links: the bundle is immutable, so sharing its inodes is free and safe,
            # and the slot dir is already bound at /code inside the sandbox.
            shutil.copytree(
                spec.bundle_dir, self.slot, symlinks=True, copy_function=link_or_copy,
                dirs_exist_ok=True,
            )  # fmt: skip
        except OSError as exc:
            await self.stop("code could not be staged", kill=True)
            raise WarmupError(
                f"{spec.key}: cannot stage code from {spec.bundle_dir}: {exc}"
            ) from exc
        message = Load(
            spec.function,
            spec.revision,
            spec.handler,
            dict(spec.env),
            spec.memory_bytes,
            spec.timeout_s,
            spec.concurrency,
            interface_of(spec),
        )
        answer = self.conn.load(message, self._loop)
        try:
            result = await asyncio.wait_for(answer, timeout_s)
        except TimeoutError:
            await self.stop("load timed out", kill=True)
            raise WarmupError(
                f"{spec.key}: handler {spec.handler!r} did not load within {timeout_s:g}s"
            ) from None
        except InstanceLost as exc:
            said = self._record.last_words()
            raise WarmupError(f"{exc.message} while loading {spec.handler!r}{said}") from None
        if isinstance(result, LoadFailed):
            await self.stop("load failed", kill=True)
            said = f"\n{result.traceback}" if result.traceback else ""
            raise WarmupError(
                f"{spec.key}: cannot load handler {spec.handler!r}: {result.message}{said}",
                key=result.key or None,
            )
        if result.serves_http:
            self.http_path = str(self._listen_path)
        self.owner = owner
        self.state = "ready"
        self.last_used = self._loop.time()

    def worker_pid(self) -> int | None:
        """The host pid of the Python worker (inside bwrap it is a grandchild)."""
        if self._process is None or self._process.get_returncode() is not None:
            return None
        pid = self._process.get_pid()
        if self._sandbox.enabled:
            # bwrap -> bwrap as pid 1 of the new namespace -> the worker
            for _ in range(2):
                children = _children(pid)
                if not children:
                    return None
                pid = children[0]
        return pid

    async def stop(self, reason: str, *, kill: bool = False) -> None:
        """Stop the worker: close its socket (it exits on EOF), escalate if it lingers.

        Its owner is not told: whoever stops an instance has already stopped routing
        to it. `kill` is for workers that cannot be trusted to notice EOF (a handler
        thread stuck past its timeout).
        """
        self.owner = None
        if self._stop_reason is None:
            self._stop_reason = f"instance stopped ({reason})"
        if kill:
            self._signal(signal.SIGKILL)
        self.conn.close()
        self._lost()
        await asyncio.shield(self._buried)

    async def lost_reason(self) -> InstanceLost:
        """What its in-flight invocations failed with, once it is gone (waits for that)."""
        await asyncio.shield(self._buried)
        return InstanceLost(self._lost_message)

    # --- death ---------------------------------------------------------------------

    def _lost(self) -> None:
        if self._burying is None:
            self._burying = self._loop.create_task(self._bury())

    async def _bury(self) -> None:
        # Routing stops now; in-flight invocations fail once we know why it died.
        self.state = "dead"
        owner, self.owner = self.owner, None
        if owner is not None:
            owner.instance_died(self)
        self.conn.close()
        returncode = await self._wait_exit()
        # Its last words may still be in the pipes; they explain a failed load.
        await self._record.drained()
        reason = self._stop_reason or self._sandbox.describe_exit(returncode, self.memory)
        self._lost_message = message = f"{self.name}: {reason}"
        self.conn.fail_all(lambda: InstanceLost(message))
        if self._process is not None:
            self._process.close()
        shutil.rmtree(self.slot, ignore_errors=True)
        self._listen_path.unlink(missing_ok=True)
        self._buried.set_result(None)

    async def _wait_exit(self) -> int:
        for escalate in (signal.SIGTERM, signal.SIGKILL, None):
            try:
                return await asyncio.wait_for(
                    asyncio.shield(self._record.exited), self._stop_grace_s
                )
            except TimeoutError:
                if escalate is None:
                    break
                self._signal(escalate)
        return -signal.SIGKILL  # unkillable (D state): report it and move on

    def _signal(self, signum: int) -> None:
        if self._process is not None and self._process.get_returncode() is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signum)

    # --- ConnectionOwner -------------------------------------------------------------

    def connection_closed(self) -> None:
        self._lost()

    def protocol_error(self, reason: str) -> None:
        self._stop_reason = f"protocol error: {reason}"
        self._signal(signal.SIGKILL)
        self._lost()

    def late_reply(self) -> None:
        if self.owner is not None:
            self.owner.instance_released(self)

    def invocation_expired(self) -> None:
        if self.owner is not None:
            self.owner.instance_expired(self)

    # --- ProcessWatch callbacks ---------------------------------------------------------

    def process_exited(self, returncode: int) -> None:
        self._record.exit(returncode)
        self._lost()

    def pipes_closed(self) -> None:
        self._record.pipes_closed()

    def output(self, stream: str, line: str) -> None:
        self._record.heard(stream, line)
        spec = self.spec
        function, revision = (spec.function, spec.revision) if spec else (None, None)
        emit_output(self._sink, self.ident, function, revision, stream, line)


def _listen(path: Path) -> socket.socket | None:
    """The listening socket of a worker's own HTTP server, bound at `path` on the host
    (the slots dir is the runtime's own, so no one else may connect); None where the
    path cannot be bound (too long for AF_UNIX): its requests are then all invoked."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        path.unlink(missing_ok=True)
        listener.bind(str(path))
        listener.listen(1024)
    except OSError as exc:
        listener.close()
        log.warning("no HTTP socket for a Python worker at %s: %s", path, exc)
        return None
    return listener


def format_bytes(size: int) -> str:
    """256 MiB -> "256Mi", the way gaia.yaml spells sizes."""
    for unit, scale in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return f"{size}B"


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(child) for child in f.read().split()]
    except OSError:
        return []
