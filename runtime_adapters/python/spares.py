"""Where instances come from: fresh launches, and stem cells kept ready for the next revision.

Booting a worker costs ~100 ms here (interpreter + msgspec imports), twice the budget
for the first invocation of a never-warmed revision. So, like Apache OpenWhisk's
prewarmed containers, the runtime keeps `size` generic workers booted with no function
loaded. Taking one costs a hard-linked copy of the bundle and a Load frame; the pool
refills in the background. Spares share the network namespace, so a revision with
`network: false` gets a freshly launched worker instead.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
from collections import deque
from pathlib import Path

from runtime_adapters.base import InstanceLost
from runtime_adapters.python.busypoll import BusyPoll
from runtime_adapters.python.instance import Instance
from runtime_adapters.python.logs import LogSink
from runtime_adapters.python.sandbox import Sandbox

log = logging.getLogger("gaia.runtime.python")


class Launcher:
    """Starts workers, each with its own empty slot dir (bound at /code)."""

    def __init__(
        self,
        *,
        sandbox: Sandbox,
        slots_dir: Path,
        sink: LogSink,
        stop_grace_s: float,
        poller: BusyPoll | None = None,
    ) -> None:
        self._poller = poller
        self.sandbox = sandbox
        self.slots_dir = slots_dir
        self._sink = sink
        self._stop_grace_s = stop_grace_s
        self._ids = itertools.count(1)

    async def launch(self, *, network: bool) -> Instance:
        ident = str(next(self._ids))
        slot = self.slots_dir / ident
        slot.mkdir(parents=True)
        instance = Instance(
            ident=ident,
            slot=slot,
            network=network,
            sandbox=self.sandbox,
            sink=self._sink,
            stop_grace_s=self._stop_grace_s,
            poller=self._poller,
        )
        try:
            await instance.spawn()
        except BaseException:
            shutil.rmtree(slot, ignore_errors=True)
            raise
        return instance


class SparePool:
    """Keeps `size` stem cells booted; implements InstanceOwner for them."""

    MAX_BACKOFF_S = 30.0

    def __init__(self, launcher: Launcher, size: int) -> None:
        self._launcher = launcher
        self._size = size
        self._spares: deque[Instance] = deque()
        self._launching = 0
        self._failures = 0  # consecutive spares that died before booting
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._fill()

    async def take(self, *, network: bool) -> Instance:
        """A booted (or booting) spare if one fits, else a freshly launched worker."""
        # Spares share the network; unsandboxed, nothing is cut off anyway.
        fits = network or not self._launcher.sandbox.enabled
        if fits and self._spares:
            instance = self._spares.popleft()
            instance.owner = None
            self._fill()
            return instance
        return await self._launcher.launch(network=network)

    async def ready(self) -> None:
        """Wait until every spare has booted (for start-up and benchmarks).

        Each launch task ends once its spare said Hello (or died), so no tasks left
        means every spare in the deque is booted.
        """
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    def _fill(self) -> None:
        while not self._closed and len(self._spares) + self._launching < self._size:
            self._launching += 1
            task = asyncio.get_running_loop().create_task(self._launch_one())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _launch_one(self) -> None:
        try:
            instance = await self._launcher.launch(network=True)
        except OSError as exc:
            log.error("cannot start a spare Python worker: %s", exc)
            self._launching -= 1
            self._retry_later()
            return
        self._launching -= 1
        if self._closed:
            await instance.stop("runtime closed")
            return
        instance.owner = self
        self._spares.append(instance)
        try:
            await instance.booted()
        except InstanceLost:
            return  # instance_died has already scheduled a retry
        self._failures = 0

    def _retry_later(self) -> None:
        self._failures += 1
        delay = min(self.MAX_BACKOFF_S, 0.05 * 2**self._failures)
        asyncio.get_running_loop().call_later(delay, self._fill)

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        spares = list(self._spares)
        self._spares.clear()
        await asyncio.gather(*(s.stop("runtime closed") for s in spares))

    # --- InstanceOwner -------------------------------------------------------------

    def instance_died(self, instance: Instance) -> None:
        if instance in self._spares:
            self._spares.remove(instance)
            log.warning("spare Python worker %s died; starting another", instance.ident)
            self._retry_later()

    def instance_released(self, instance: Instance) -> None:
        pass  # spares run no invocations

    def instance_expired(self, instance: Instance) -> None:
        pass


def slots_dir_for(state_dir: Path) -> Path:
    """Per gateway process, so replicas sharing a state dir never share a slot."""
    return state_dir / "slots" / str(os.getpid())


def remove_stale_slots(state_dir: Path) -> None:
    """Slot dirs left by gateway processes that died without closing the runtime."""
    slots = state_dir / "slots"
    if not slots.is_dir():
        return
    for owner in slots.iterdir():
        if owner.name.isdigit() and not _alive(int(owner.name)):
            shutil.rmtree(owner, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True
