"""PythonRuntime: the `python` runtime's face to the gateway (see base.Runtime)."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime_adapters.base import (
    Invocation,
    InvocationResult,
    PoolStatus,
    RevisionKey,
    RevisionSpec,
    RevisionUnknown,
    Runtime,
    RuntimeAdapterError,
)
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

# How often idle instances are looked for, at most; pools with a shorter idle_s are
# looked at four times per idle_s.
REAP_INTERVAL_S = 1.0


@dataclass(frozen=True, kw_only=True)
class InstanceInfo:
    name: str
    pid: int | None  # host pid of the Python worker process
    state: str
    in_flight: int


class PythonRuntime(Runtime):
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
        state_dir = Path(state_dir)
        self._sandbox = Sandbox(enabled=sandbox, lib_dir=state_dir / "lib")
        self._state_dir = state_dir
        self._slots_dir = slots_dir_for(state_dir)
        self._stop_grace_s = stop_grace_s
        self._options = PoolOptions(queue_limit=queue_limit, load_timeout_s=load_timeout_s)
        self._sink = log_sink or stderr_sink
        self._spares = SparePool(
            Launcher(
                sandbox=self._sandbox,
                slots_dir=self._slots_dir,
                sink=self._sink,
                stop_grace_s=stop_grace_s,
                poller=BusyPoll(window_s=busy_poll_s),
            ),
            spares,
        )
        self._pools: dict[RevisionKey, RevisionPool] = {}
        self._warming: dict[RevisionKey, asyncio.Task[None]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def sandboxed(self) -> bool:
        return self._sandbox.enabled

    async def start(self) -> None:
        """Boot the stem cells and the reaper; `warm` does this on first use."""
        if self._reaper is not None:
            return
        if self._closed:
            raise RuntimeError("PythonRuntime is closed")
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())
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

    async def warm(self, spec: RevisionSpec) -> None:
        await self.start()
        key = spec.key
        if key in self._pools:
            return
        task = self._warming.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._warm(spec))
            self._warming[key] = task
            task.add_done_callback(lambda t: self._warmed(key, t))
        # Concurrent callers share one warm-up; one caller giving up does not stop it.
        await asyncio.shield(task)

    async def _warm(self, spec: RevisionSpec) -> None:
        pool = RevisionPool(spec, spares=self._spares, options=self._options, sink=self._sink)
        try:
            await pool.warm()
        except BaseException:
            await pool.close(0)
            raise
        if self._closed:
            await pool.close(0)
            raise RuntimeAdapterError("PythonRuntime closed during warm-up")
        self._pools[spec.key] = pool

    def _warmed(self, key: RevisionKey, task: asyncio.Task[None]) -> None:
        self._warming.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have gone

    async def invoke(self, key: RevisionKey, invocation: Invocation) -> InvocationResult:
        pool = self._pools.get(key)
        if pool is None:
            raise RevisionUnknown(f"{key} is not warm on the python runtime")
        return await pool.invoke(invocation)

    async def invoke_many(
        self, key: RevisionKey, invocations: Sequence[Invocation]
    ) -> list[InvocationResult | RuntimeAdapterError]:
        pool = self._pools.get(key)
        if pool is None:
            raise RevisionUnknown(f"{key} is not warm on the python runtime")
        return list(await pool.invoke_many(invocations))

    async def retire(self, key: RevisionKey) -> None:
        warming = self._warming.get(key)
        if warming is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(warming)
        pool = self._pools.pop(key, None)
        if pool is not None:
            # In-flight work can last at most the function's timeout.
            await pool.close(grace_s=pool.spec.timeout_s + 1.0)

    def status(self) -> list[PoolStatus]:
        return [pool.status() for pool in self._pools.values()]

    def instances(self, key: RevisionKey) -> list[InstanceInfo]:
        pool = self._pools.get(key)
        if pool is None:
            return []
        return [
            InstanceInfo(name=i.name, pid=i.worker_pid(), state=i.state, in_flight=i.in_flight)
            for i in pool.instances()
        ]

    async def aclose(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        for task in list(self._warming.values()):
            task.cancel()
        pools = list(self._pools.values())
        self._pools.clear()
        await asyncio.gather(
            *(pool.close(grace_s=self._stop_grace_s) for pool in pools),
            self._spares.aclose(),
        )
        shutil.rmtree(self._slots_dir, ignore_errors=True)

    async def _reap_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            interval = min(
                [REAP_INTERVAL_S, *(p.spec.pool.idle_s / 4 for p in self._pools.values())]
            )
            await asyncio.sleep(max(interval, 0.01))
            now = loop.time()
            for pool in list(self._pools.values()):
                pool.reap(now)
