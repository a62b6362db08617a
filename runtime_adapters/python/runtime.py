"""PythonRuntime: the `python` runtime's face to the gateway (see base.Runtime)."""

from __future__ import annotations

import asyncio
import compileall
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime_adapters.base import (
    Invocation,
    InvocationResult,
    RevisionKey,
    RevisionSpec,
    RuntimeAdapterError,
)
from runtime_adapters.pool_runtime import PoolRuntime
from runtime_adapters.python.busypoll import WINDOW_S, BusyPoll
from runtime_adapters.python.logs import LogSink, stderr_sink
from runtime_adapters.python.pool import PoolOptions, RevisionPool
from runtime_adapters.python.sandbox import Sandbox, libraries
from runtime_adapters.python.spares import (
    Launcher,
    SparePool,
    remove_stale_slots,
    slots_dir_for,
)


@dataclass(frozen=True, kw_only=True)
class InstanceInfo:
    name: str
    pid: int | None  # host pid of the Python worker process
    state: str
    in_flight: int


class PythonRuntime(PoolRuntime):
    """Warm pools of sandboxed worker processes, one pool per revision.

    `state_dir` holds the per-process slot dirs (one per worker, bound at /code).
    `spares` stem cells are kept booted for fast first invocations. `sandbox`: True
    requires bubblewrap, False never uses it, None uses it where it is on PATH.
    `log_sink` receives every line functions print or log (default: JSON on stderr).
    `queue_limit`, when given, bounds every pool's queue instead of its `pool.queue`.
    """

    name = "python"

    def __init__(
        self,
        state_dir: Path,
        *,
        spares: int = 1,
        sandbox: bool | None = None,
        log_sink: LogSink | None = None,
        queue_limit: int | None = None,
        load_timeout_s: float = 30.0,
        stop_grace_s: float = 2.0,
        busy_poll_s: float = WINDOW_S,
    ) -> None:
        super().__init__(stop_grace_s=stop_grace_s)
        state_dir = Path(state_dir)
        self._sandbox = Sandbox(enabled=sandbox, lib_dir=state_dir / "lib")
        self._state_dir = state_dir
        self._slots_dir = slots_dir_for(state_dir)
        self._options = PoolOptions(queue_limit=queue_limit, load_timeout_s=load_timeout_s)
        self._sink = log_sink or stderr_sink
        self.busy_poll = BusyPoll(window_s=busy_poll_s)  # its counts: how replies were awaited
        self._spares = SparePool(
            Launcher(
                sandbox=self._sandbox,
                slots_dir=self._slots_dir,
                sink=self._sink,
                stop_grace_s=stop_grace_s,
                poller=self.busy_poll,
            ),
            spares,
        )

    @property
    def sandboxed(self) -> bool:
        return self._sandbox.enabled

    async def start(self) -> None:
        """Boot the stem cells and the reaper; `warm` does this on first use."""
        if self._reaper is not None:
            return
        await super().start()
        remove_stale_slots(self._state_dir)
        self._slots_dir.mkdir(parents=True, exist_ok=True)
        # Workers run with -B from read-only binds: make sure the bytecode they need
        # exists, or every boot recompiles the worker modules.
        package = libraries()["runtime_adapters"] / "python"
        await asyncio.to_thread(compileall.compile_dir, package, quiet=2)
        self._spares.start()

    async def spares_ready(self) -> None:
        """Wait until the stem cells have booted."""
        await self.start()
        await self._spares.ready()

    async def _new_pool(self, spec: RevisionSpec) -> RevisionPool:
        return RevisionPool(spec, spares=self._spares, options=self._options, sink=self._sink)

    def _python_pool(self, key: RevisionKey) -> RevisionPool:
        pool = self._pool(key)
        assert isinstance(pool, RevisionPool)
        return pool

    async def invoke_many(
        self, key: RevisionKey, invocations: Sequence[Invocation]
    ) -> list[InvocationResult | RuntimeAdapterError]:
        return list(await self._python_pool(key).invoke_many(invocations))

    def instances(self, key: RevisionKey) -> list[InstanceInfo]:
        pool = self._pools.get(key)
        if not isinstance(pool, RevisionPool):
            return []
        return [
            InstanceInfo(name=i.name, pid=i.worker_pid(), state=i.state, in_flight=i.in_flight)
            for i in pool.instances()
        ]

    async def aclose(self) -> None:
        await asyncio.gather(super().aclose(), self._spares.aclose())
        shutil.rmtree(self._slots_dir, ignore_errors=True)
