"""One container instance: a sandboxed process serving HTTP on its own port.

It is started, then polled until ready (the port accepts, or GET `readiness.path`
answers 2xx/3xx) within the readiness deadline. Its death is noticed from the
process's exit, which its pool hears at once (to replace it); requests in flight fail
with the exit's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
from typing import Protocol

from runtime_adapters import bwrap
from runtime_adapters.base import (
    InstanceLost,
    Invocation,
    InvocationResult,
    InvocationTimeout,
    RevisionSpec,
    WarmupError,
)
from runtime_adapters.container.sandbox import Launch, command
from runtime_adapters.container.settings import Readiness
from runtime_adapters.deadlines import Deadlines
from runtime_adapters.pool import State
from runtime_adapters.process import ProcessRecord, ProcessWatch
from runtime_adapters.python.logs import LogSink, emit_output
from runtime_adapters.slots import SlotCounts
from runtime_adapters.upstream import ConnectionFailed, TimedOut, UpstreamClient, path_target

# How long a failed request waits for the process's exit, to say why it failed.
EXIT_WAIT_S = 1.0
# Readiness polls start quick (most servers are up in milliseconds) and back off.
FIRST_POLL_S = 0.01
MAX_POLL_S = 0.2


class InstanceOwner(Protocol):
    def instance_died(self, instance: ContainerInstance) -> None: ...


def free_port() -> int:
    """A port nothing listens on now. The instance binds it a moment later; another
    process taking it first makes that instance fail to start, and the pool says so."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ContainerInstance(SlotCounts):
    def __init__(
        self,
        *,
        ident: str,
        spec: RevisionSpec,
        launch: Launch,
        sink: LogSink,
        stop_grace_s: float,
        deadlines: Deadlines,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self.ident = ident
        self.spec = spec
        self.name = f"{spec.key}#{ident}"
        self.port = launch.port
        self.state: State = "loading"
        self.owner: InstanceOwner | None = None
        self.concurrency = spec.concurrency
        self.in_flight = 0
        self.last_used = self._loop.time()
        self._launch = launch
        self._sink = sink
        self._stop_grace_s = stop_grace_s
        self._client = UpstreamClient(
            host="127.0.0.1", port=launch.port, timeout_s=spec.timeout_s, deadlines=deadlines
        )
        self._process: asyncio.SubprocessTransport | None = None
        self._record = ProcessRecord(self._loop)
        self._stop_reason: str | None = None
        self._disposal: asyncio.Task[None] | None = None

    # --- start ---------------------------------------------------------------------

    async def start(self, readiness: Readiness) -> None:
        """Start the process and wait until it serves; WarmupError saying why not."""
        try:
            self._process, _ = await self._loop.subprocess_exec(
                lambda: ProcessWatch(self),
                *command(self._launch),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={},
                start_new_session=True,  # a Ctrl-C meant for the gateway is not the instance's
            )
        except OSError as exc:
            raise WarmupError(f"{self.name}: cannot start {self._argv0()}: {exc}") from exc
        try:
            await self._until_ready(readiness)
        except BaseException:
            await self.stop("not ready", kill=True)
            raise
        self.state = "ready"
        self.last_used = self._loop.time()

    async def _until_ready(self, readiness: Readiness) -> None:
        deadline = self._loop.time() + readiness.timeout_s
        what = f"port {self.port}" if readiness.path is None else f"GET {readiness.path}"
        last = "no answer yet"
        pause = FIRST_POLL_S
        while True:
            if self._record.exited.done():
                reason = self._exit_reason(self._record.exited.result())
                await self._record.drained()
                said = self._record.last_words()
                raise WarmupError(f"{self.name}: {reason} before it was ready{said}")
            left = deadline - self._loop.time()
            if left <= 0:
                raise WarmupError(
                    f"{self.name}: not ready within {readiness.timeout_s:g}s"
                    f" (readiness.timeout): {what}: {last}"
                )
            outcome = await self._probe(readiness.path, min(left, 1.0))
            if outcome is None:
                return
            last = outcome
            await asyncio.sleep(min(pause, max(0.0, deadline - self._loop.time())))
            pause = min(pause * 2, MAX_POLL_S)

    async def _probe(self, path: str | None, timeout_s: float) -> str | None:
        """None when ready, else what the check saw."""
        if path is None:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port), timeout_s
                )
            except TimeoutError:
                return "connection timed out"
            except OSError as exc:
                return f"connection failed ({exc.strerror or exc})"
            writer.close()
            return None
        try:
            response = await self._client.request(
                "GET", path_target(path), [], b"", timeout_s=timeout_s
            )
        except (ConnectionFailed, TimedOut) as exc:
            return f"no answer ({exc})"
        if 200 <= response.status < 400:
            return None
        return f"answered {response.status}"

    # --- invocation --------------------------------------------------------------------

    async def invoke(self, invocation: Invocation, *, timeout_s: float) -> InvocationResult:
        try:
            return await self._client.invoke(invocation, timeout_s=timeout_s)
        except TimedOut:
            raise self.timed_out() from None
        except ConnectionFailed as exc:
            raise await self.lost(str(exc)) from None

    @property
    def upstream(self) -> UpstreamClient:
        """The pooled connections to the instance."""
        return self._client

    def timed_out(self) -> InvocationTimeout:
        return InvocationTimeout(f"{self.spec.key} did not answer within {self.spec.timeout_s:g}s")

    async def lost(self, detail: str) -> InstanceLost:
        """A request that got no usable answer (`detail`), as the instance's exit if it is
        exiting."""
        return InstanceLost(await self._lost_reason(detail))

    async def _lost_reason(self, detail: str) -> str:
        """Why a request got no answer: the process's exit if it is exiting."""
        try:
            returncode = await asyncio.wait_for(asyncio.shield(self._record.exited), EXIT_WAIT_S)
        except TimeoutError:
            return f"{self.name}: no usable answer: {detail}"
        return f"{self.name}: {self._exit_reason(returncode)} during the request"

    # --- stop ----------------------------------------------------------------------

    async def stop(self, reason: str, *, kill: bool = False) -> None:
        """Stop the process (SIGTERM, then SIGKILL after the grace period). Its owner is
        not told: whoever stops an instance has already stopped routing to it."""
        self.owner = None
        self.state = "dead"
        if self._stop_reason is None:
            self._stop_reason = f"instance stopped ({reason})"
        for signum in (signal.SIGKILL,) if kill else (signal.SIGTERM, signal.SIGKILL):
            self._signal(signum)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._record.exited), self._stop_grace_s)
                break
        await self._disposed()

    def _disposed(self) -> asyncio.Future[None]:
        """Release the client's connections and the process's transport, once, after
        the exit: an instance that dies on its own is never stopped."""
        if self._disposal is None:
            self._disposal = self._loop.create_task(self._dispose())
        return asyncio.shield(self._disposal)

    async def _dispose(self) -> None:
        await self._client.aclose()
        await self._record.drained()  # its last words may still be in the pipes
        if self._process is not None:
            self._process.close()

    def _signal(self, signum: int) -> None:
        if self._process is not None and self._process.get_returncode() is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signum)

    def _exit_reason(self, returncode: int) -> str:
        if self._stop_reason is not None:
            return self._stop_reason
        return bwrap.exit_reason(returncode, sandboxed=True, subject="instance")

    def _argv0(self) -> str:
        return self._launch.command[0] if self._launch.command else "the command"

    # --- ProcessWatch callbacks --------------------------------------------------------

    def process_exited(self, returncode: int) -> None:
        self._record.exit(returncode)
        self.state = "dead"
        owner, self.owner = self.owner, None
        if owner is not None:
            owner.instance_died(self)
        self._disposed()

    def pipes_closed(self) -> None:
        self._record.pipes_closed()

    def output(self, stream: str, line: str) -> None:
        self._record.heard(stream, line)
        spec = self.spec
        emit_output(self._sink, self.ident, spec.function, spec.revision, stream, line)
