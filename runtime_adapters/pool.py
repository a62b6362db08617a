"""One revision's warm pool, whatever its instances are: slots, queueing, scaling,
replacement and retirement. A runtime subclasses `SlotPool` with how to start an
instance and how to send it work.

Invariants: `_ready` holds the instances that take new work; an instance's `in_flight`
counts the invocations it is running (a timed-out one stops counting, a cancelled one
counts until its late reply); `_waiters` are invocations queued for a slot, served
FIFO, each until its deadline (`pool.queue_timeout`, else the function's timeout).
Slots are taken and given back in `_slots` (slots.py, compiled), which shares those two
lists; the rest of a release (waiters, draining, retirement) comes back here.
A new arrival that would not get a slot before that deadline, by `_estimate`, is shed
at once rather than queued to fail later. Everything runs on the event loop thread, so
no locks.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Generic, Literal, Protocol, TypeVar

from runtime_adapters.admission import WaitEstimate, retry_after
from runtime_adapters.base import (
    QUEUE_TIMING,
    Invocation,
    InvocationResult,
    PoolSaturated,
    PoolStatus,
    RevisionSpec,
    RevisionUnknown,
    RuntimeAdapterError,
    WarmupError,
)
from runtime_adapters.deadlines import Deadlines
from runtime_adapters.histogram import Histogram
from runtime_adapters.lease import HttpLease
from runtime_adapters.slots import Slots

log = logging.getLogger("gaia.runtime")

State = Literal["spare", "loading", "ready", "draining", "dead"]


class PooledInstance(Protocol):
    """What the pool reads and writes on an instance; the hot-path fields are plain
    attributes."""

    state: State
    concurrency: int
    in_flight: int
    last_used: float

    async def stop(self, reason: str, *, kill: bool = False) -> None: ...


InstanceT = TypeVar("InstanceT", bound=PooledInstance)


def _lends_none() -> HttpLease | None:
    return None


class SlotPool(abc.ABC, Generic[InstanceT]):
    # A free slot lent for an HTTP request passed straight to its instance
    # (runtime_adapters/lease.py), or None; a pool whose instances do not serve HTTP
    # lends none. An attribute rather than a method, so that a subclass sets its
    # lessor's compiled `lease`, which the data plane then calls per request
    # (PoolRuntime.lessor) without this class's Python in between.
    lease: Callable[[], HttpLease | None]

    def __init__(self, spec: RevisionSpec, *, queue_limit: int | None) -> None:
        self.spec = spec
        self.key = spec.key
        self._loop = asyncio.get_running_loop()
        self._ready: list[InstanceT] = []
        self._draining: list[InstanceT] = []
        self._starting = 0
        self._cold_starts = 0
        self._waiters: deque[asyncio.Future[InstanceT]] = deque()
        self._queue_limit = spec.pool.queue if queue_limit is None else queue_limit
        self._timeout_s = spec.timeout_s
        # Waiting counts against the timeout, so no wait may outlast it.
        queue_timeout_s = spec.pool.queue_timeout_s
        self._deadline_s = min(queue_timeout_s or spec.timeout_s, spec.timeout_s)
        self._estimate = WaitEstimate(self._loop.time)
        self.deadlines = Deadlines(self._loop)  # the invocations' timeouts, on one timer
        self._concurrency = spec.concurrency
        self._slots = Slots(
            ready=self._ready,
            waiters=self._waiters,
            concurrency=spec.concurrency,
            estimate=self._estimate,
            clock=self._loop.time,
            settle=self._settle,
        )
        self.lease = _lends_none
        self._drained = asyncio.Event()
        self._growing: set[asyncio.Task[None]] = set()  # cancelled by close()
        self._stopping: set[asyncio.Task[None]] = set()  # awaited by close()
        # /metrics: how long instances took to start and waits for a slot, read at scrape.
        self._start_seconds = Histogram()
        self._queue_wait = Histogram()

    @abc.abstractmethod
    async def _start_instance(self) -> InstanceT:
        """Start one instance and return it ready for work (state "ready"); raise
        WarmupError saying why it cannot start, leaving nothing running."""

    @abc.abstractmethod
    async def invoke(self, invocation: Invocation) -> InvocationResult:
        """Run one invocation on an instance's slot, waiting in the queue for one."""

    # --- warm-up and growth --------------------------------------------------------

    async def warm(self) -> None:
        """One instance proves the revision starts; the rest of `min` follow in the background."""
        self._starting += 1
        await self._add_instance()
        for _ in range(self.spec.pool.min - 1):
            self._grow()

    async def _add_instance(self) -> None:
        """Start one instance; the caller has already counted it in `_starting`."""
        began = self._loop.time()
        try:
            instance = await self._start_instance()
        finally:
            self._starting -= 1
        self._cold_starts += 1
        self._start_seconds.observe(self._loop.time() - began)
        if self._slots.closed:
            await instance.stop("revision retired")
            return
        self._ready.append(instance)
        self._hand_over(instance)

    def _grow(self) -> None:
        if not self._slots.closed and len(self._ready) + self._starting < self.spec.pool.max:
            # Counted now, not when the task runs: several calls in one loop iteration
            # would otherwise all pass the check and overshoot `max`.
            self._starting += 1
            self._background(self._growing, self._grow_one())

    async def _grow_one(self) -> None:
        try:
            await self._add_instance()
        except RuntimeAdapterError as exc:
            message = exc.message
            log.error("%s: cannot start an instance: %s", self.key, message)
            if not self._ready and not self._starting:
                self._fail_waiters(lambda: WarmupError(message))

    def _background(self, tasks: set[asyncio.Task[None]], coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(tasks.discard)

    # --- slots (the hot path) ----------------------------------------------------------

    def _pick(self) -> InstanceT | None:
        """The first ready instance with a free slot.

        Packing work onto the first instances, rather than spreading it, keeps a busy
        instance busy: it finds the next request already waiting instead of sleeping and
        being woken for it, which on a VM costs more than a fast invocation. Instances
        at the end of the list then fall idle and the reaper stops them.
        """
        instance: InstanceT | None = self._slots.pick()
        return instance

    async def _queued(self, timeout_s: float) -> tuple[InstanceT, float]:
        """Wait in the queue for a slot; the slot's instance and what is left of
        `timeout_s`, which the wait counts against."""
        queued_at = self._loop.time()
        instance = await self._wait_for_slot()
        waited = self._loop.time() - queued_at
        self._queue_wait.observe(waited)
        timing = QUEUE_TIMING.get()
        if timing is not None:
            timing.waited_s = waited
        return instance, timeout_s - waited

    async def _wait_for_slot(self) -> InstanceT:
        if self._slots.closed:
            raise RevisionUnknown(f"{self.key} is being retired")
        ahead = len(self._waiters)
        wait_s = self._expected_wait()
        if ahead >= self._queue_limit:
            raise PoolSaturated(
                f"{self.key}: {ahead} invocations already queued (pool.queue)",
                reason="queue_full",
                retry_after_s=retry_after(wait_s, self._deadline_s),
            )
        if wait_s > self._deadline_s:
            raise PoolSaturated(
                f"{self.key}: a new invocation would wait about {wait_s:.1f}s for a free"
                f" instance, past its deadline of {self._deadline_s:g}s",
                reason="expected_wait",
                retry_after_s=retry_after(wait_s, self._deadline_s),
            )
        waiter: asyncio.Future[InstanceT] = self._loop.create_future()
        self._waiters.append(waiter)
        self._scale_for_queue()
        timer = self._loop.call_later(self._deadline_s, self._expire_waiter, waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())  # a slot came just as the caller gave up
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        finally:
            timer.cancel()

    def _expected_wait(self) -> float:
        """How long an invocation queued now would wait for a slot."""
        slots = (len(self._ready) + self._starting) * self._concurrency
        return self._estimate.expected_wait(len(self._waiters), slots)

    def _expire_waiter(self, waiter: asyncio.Future[InstanceT]) -> None:
        # It never ran, so it is a 503 the caller may retry, not the 504 of a function
        # that ran too long (HAProxy's `timeout queue` and Envoy answer the same).
        if not waiter.done():
            waiter.set_exception(
                PoolSaturated(
                    f"{self.key} found no free instance within its deadline of"
                    f" {self._deadline_s:g}s",
                    reason="deadline",
                    retry_after_s=retry_after(self._expected_wait(), self._deadline_s),
                )
            )

    def _scale_for_queue(self) -> None:
        # Start another instance only when those already starting cannot absorb the queue.
        if len(self._waiters) > self._starting * self._concurrency:
            self._grow()

    def _release(self, instance: InstanceT) -> None:
        self._slots.release(instance)

    def _settle(self, instance: InstanceT) -> None:
        """A release's part beyond counting (Slots.release asks it when there is one)."""
        if instance.state == "draining":
            if not instance.in_flight:
                self._stop(instance, "drained after a timeout", kill=True)
        elif self._waiters:
            self._hand_over(instance)
        if self._slots.closed:
            self._check_drained()

    def _hand_over(self, instance: InstanceT) -> None:
        waiters = self._waiters
        while waiters and instance.in_flight < instance.concurrency and instance.state == "ready":
            waiter = waiters.popleft()
            if not waiter.done():
                instance.in_flight += 1
                waiter.set_result(instance)

    def _fail_waiters(self, error: Callable[[], BaseException]) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error())

    # --- what instances report ---------------------------------------------------------

    def instance_died(self, instance: InstanceT) -> None:
        self._forget(instance)
        self._grow()  # replace it (its own in-flight invocations fail with the reason)
        if self._slots.closed:
            self._check_drained()

    def instance_released(self, instance: InstanceT) -> None:
        self._release(instance)

    def instance_expired(self, instance: InstanceT) -> None:
        # Code that ignores its timeout cannot be interrupted: stop routing to this
        # instance, let its other invocations finish, then kill it. A fresh one takes
        # its place.
        instance.in_flight -= 1
        if instance.state == "ready":
            instance.state = "draining"
            self._ready.remove(instance)
            self._draining.append(instance)
            self._grow()
        if not instance.in_flight:
            self._stop(instance, "drained after a timeout", kill=True)
        if self._slots.closed:
            self._check_drained()

    # --- scale-down and retirement -----------------------------------------------------

    def reap(self, now: float) -> None:
        """Stop instances above `min` that have had no work for `idle_s`."""
        excess = len(self._ready) - self.spec.pool.min
        idle_s = self.spec.pool.idle_s
        for instance in reversed(self._ready[:]):
            if excess <= 0:
                break
            if not instance.in_flight and now - instance.last_used >= idle_s:
                self._stop(instance, "idle")
                excess -= 1

    async def close(self, grace_s: float) -> None:
        """Stop taking work, let in-flight and queued invocations finish (bounded), stop."""
        self._slots.closed = True
        self._check_drained()
        if not self._drained.is_set():
            try:
                await asyncio.wait_for(self._drained.wait(), grace_s)
            except TimeoutError:
                log.warning("%s: retiring with invocations still running", self.key)
        self._fail_waiters(lambda: RevisionUnknown(f"{self.key} was retired"))
        for task in list(self._growing):
            task.cancel()
        instances = self._ready + self._draining
        # Emptied in place: the slots share the ready list.
        self._ready.clear()
        self._draining.clear()
        await asyncio.gather(
            *(i.stop("revision retired") for i in instances),
            *self._growing,
            *self._stopping,
            return_exceptions=True,
        )

    def _check_drained(self) -> None:
        busy = any(i.in_flight for i in self._ready) or any(i.in_flight for i in self._draining)
        if not self._waiters and not busy:
            self._drained.set()

    def _stop(self, instance: InstanceT, reason: str, *, kill: bool = False) -> None:
        self._forget(instance)
        self._background(self._stopping, instance.stop(reason, kill=kill))

    def _forget(self, instance: InstanceT) -> None:
        if instance in self._ready:
            self._ready.remove(instance)
        elif instance in self._draining:
            self._draining.remove(instance)

    def instances(self) -> list[InstanceT]:
        return self._ready + self._draining

    def status(self) -> PoolStatus:
        live = self._ready + self._draining
        return PoolStatus(
            key=self.key,
            instances=len(live) + self._starting,
            ready=len(self._ready),
            in_flight=sum(i.in_flight for i in live),
            queued=len(self._waiters),
            busy=sum(1 for i in self._ready if i.in_flight),
            starting=self._starting,
            draining=len(self._draining),
            cold_starts=self._cold_starts,
            start_seconds=self._start_seconds,
            queue_wait=self._queue_wait,
        )
