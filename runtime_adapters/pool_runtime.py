"""A runtime made of one pool per revision (a SlotPool of instances, or anything
else that is a `Pool`): shared warm-up, invocation, retirement and reaping. A runtime
subclasses `PoolRuntime` with how to make a pool."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

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
from runtime_adapters.lease import HttpLease

# How often idle instances are looked for, at most; pools with a shorter idle_s are
# looked at four times per idle_s.
REAP_INTERVAL_S = 1.0


class Pool(Protocol):
    """What PoolRuntime needs of a revision's pool; SlotPool is one."""

    @property
    def spec(self) -> RevisionSpec: ...

    async def warm(self) -> None: ...

    async def invoke(self, invocation: Invocation) -> InvocationResult: ...

    def reap(self, now: float) -> None: ...

    def lease(self) -> HttpLease | None: ...

    async def close(self, grace_s: float) -> None: ...

    def status(self) -> PoolStatus: ...


class PoolRuntime(Runtime):
    def __init__(self, *, stop_grace_s: float) -> None:
        self._stop_grace_s = stop_grace_s
        self._pools: dict[RevisionKey, Pool] = {}
        self._warming: dict[RevisionKey, asyncio.Task[None]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False

    @abc.abstractmethod
    async def _new_pool(self, spec: RevisionSpec) -> Pool:
        """An empty pool for the revision (its `warm` starts the instances); raise
        WarmupError when the revision cannot have one."""

    async def start(self) -> None:
        """Start the reaper; `warm` does this on first use."""
        if self._reaper is not None:
            return
        if self._closed:
            raise RuntimeError(f"the {self.name} runtime is closed")
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

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
        pool = await self._new_pool(spec)
        try:
            await pool.warm()
        except BaseException:
            await pool.close(0)
            raise
        if self._closed:
            await pool.close(0)
            raise RuntimeAdapterError(f"the {self.name} runtime closed during warm-up")
        self._pools[spec.key] = pool

    def _warmed(self, key: RevisionKey, task: asyncio.Task[None]) -> None:
        self._warming.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have gone

    def _pool(self, key: RevisionKey) -> Pool:
        pool = self._pools.get(key)
        if pool is None:
            raise RevisionUnknown(f"{key} is not warm on the {self.name} runtime")
        return pool

    async def invoke(self, key: RevisionKey, invocation: Invocation) -> InvocationResult:
        return await self._pool(key).invoke(invocation)

    def lease(self, key: RevisionKey) -> HttpLease | None:
        pool = self._pools.get(key)
        return None if pool is None else pool.lease()

    def lessor(self, key: RevisionKey) -> Callable[[], HttpLease | None] | None:
        """The `lease` of the revision's pool as it is now (None: no pool yet), for a
        caller that lends on it again and again without looking the pool up each time.
        A retired pool lends nothing, so such a caller asks again when it is refused:
        the pool may have been replaced."""
        pool = self._pools.get(key)
        return None if pool is None else pool.lease

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

    async def aclose(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
        for task in list(self._warming.values()):
            task.cancel()
        pools = list(self._pools.values())
        self._pools.clear()
        await asyncio.gather(*(pool.close(grace_s=self._stop_grace_s) for pool in pools))

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
