"""One revision's warm pool: routing, queueing, scaling, timeouts, replacement.

Invariants: `_ready` holds the instances that take new work; an instance's `in_flight`
counts the invocations it is running (a timed-out one stops counting, a cancelled one
counts until its late reply); `_waiters` are invocations queued for a slot, served
FIFO, each until its deadline (`pool.queue_timeout`, else the function's timeout).
A new arrival that would not get a slot before that deadline, by `_estimate`, is shed
at once rather than queued to fail later. Everything runs on the event loop thread, so
no locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from runtime_adapters.admission import WaitEstimate, retry_after
from runtime_adapters.base import (
    FunctionFailed,
    InstanceLost,
    Invocation,
    InvocationResult,
    PoolSaturated,
    PoolStatus,
    RevisionSpec,
    RevisionUnknown,
    RuntimeAdapterError,
    WarmupError,
)
from runtime_adapters.python.connection import Outcome, WorkerConnection
from runtime_adapters.python.instance import Instance
from runtime_adapters.python.logs import LogSink, emit_captured
from runtime_adapters.python.protocol import Failed, ManyReplies, Reply
from runtime_adapters.python.spares import SparePool

log = logging.getLogger("gaia.runtime.python")


@dataclass(frozen=True, kw_only=True)
class PoolOptions:
    queue_limit: int | None  # None: each revision's own pool.queue
    load_timeout_s: float


class RevisionPool:
    def __init__(
        self, spec: RevisionSpec, *, spares: SparePool, options: PoolOptions, sink: LogSink
    ) -> None:
        self.spec = spec
        self.key = spec.key
        self._loop = asyncio.get_running_loop()
        self._spares = spares
        self._options = options
        self._sink = sink
        self._ready: list[Instance] = []
        self._draining: list[Instance] = []
        self._starting = 0
        self._waiters: deque[asyncio.Future[Instance]] = deque()
        self._queue_limit = spec.pool.queue if options.queue_limit is None else options.queue_limit
        self._timeout_s = spec.timeout_s
        self._timeout_ms = int(spec.timeout_s * 1000)
        # Waiting counts against the timeout, so no wait may outlast it.
        queue_timeout_s = spec.pool.queue_timeout_s
        self._deadline_s = min(queue_timeout_s or spec.timeout_s, spec.timeout_s)
        self._estimate = WaitEstimate(self._loop.time)
        self._concurrency = spec.concurrency
        self._closed = False
        self._drained = asyncio.Event()
        self._growing: set[asyncio.Task[None]] = set()  # cancelled by close()
        self._stopping: set[asyncio.Task[None]] = set()  # awaited by close()

    # --- warm-up and growth --------------------------------------------------------

    async def warm(self) -> None:
        """One instance proves the revision loads; the rest of `min` follow in the background."""
        self._starting += 1
        await self._add_instance()
        for _ in range(self.spec.pool.min - 1):
            self._grow()

    async def _add_instance(self) -> None:
        """Start one instance; the caller has already counted it in `_starting`."""
        instance: Instance | None = None
        try:
            instance = await self._spares.take(network=self.spec.network)
            await instance.load(self.spec, owner=self, timeout_s=self._options.load_timeout_s)
        except OSError as exc:
            raise WarmupError(f"{self.key}: cannot start a worker: {exc}") from exc
        except asyncio.CancelledError:
            if instance is not None:
                self._background(self._stopping, instance.stop("start cancelled", kill=True))
            raise
        finally:
            self._starting -= 1
        assert instance is not None
        if self._closed:
            await instance.stop("revision retired")
            return
        self._ready.append(instance)
        self._hand_over(instance)

    def _grow(self) -> None:
        if not self._closed and len(self._ready) + self._starting < self.spec.pool.max:
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

    # --- invocation (the hot path) ---------------------------------------------------

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        outcome = await self._exchange(
            lambda conn, future, timeout_ms: conn.send(future, invocation, timeout_ms),
            timeout_s=self._timeout_s,
        )
        assert not isinstance(outcome, ManyReplies)
        return self._result(invocation, outcome)

    async def invoke_many(
        self, invocations: Sequence[Invocation]
    ) -> list[InvocationResult | FunctionFailed]:
        """Run in order on one instance, stopping after the first failure; the list has
        an entry per invocation that ran. The whole run may take each one's timeout."""
        outcome = await self._exchange(
            # Each item still gets its own timeout as its deadline in the worker.
            lambda conn, future, _: conn.send_many(future, invocations, self._timeout_ms),
            timeout_s=self._timeout_s * len(invocations),
        )
        assert isinstance(outcome, ManyReplies)
        results: list[InvocationResult | FunctionFailed] = []
        for invocation, reply in zip(invocations, outcome.replies, strict=False):
            try:
                results.append(self._result(invocation, reply))
            except FunctionFailed as exc:
                results.append(exc)
        return results

    async def _exchange(
        self,
        send: Callable[[WorkerConnection, asyncio.Future[Outcome], int], int],
        *,
        timeout_s: float,
    ) -> Outcome:
        """Take a slot on an instance (waiting in the queue when none is free), send,
        and wait for the answer within `timeout_s`."""
        timeout_ms = int(timeout_s * 1000)
        instance = None if self._waiters else self._pick()
        if instance is None:
            queued_at = self._loop.time()
            instance = await self._wait_for_slot()
            timeout_s -= self._loop.time() - queued_at
            timeout_ms = int(timeout_s * 1000)
        conn = instance.conn
        future: asyncio.Future[Outcome] = self._loop.create_future()
        sent_at = self._estimate.now()
        request_id = send(conn, future, timeout_ms)
        # On cancellation the timer stays armed: the slot comes back with the late
        # reply, or the timeout drains the instance. A timeout's accounting is done by
        # instance_expired; a lost instance takes its slots with it.
        timer = self._loop.call_later(timeout_s, conn.expire, request_id)
        try:
            outcome = await future
        except InstanceLost:
            timer.cancel()
            raise
        timer.cancel()
        self._estimate.completed(sent_at, queued=bool(self._waiters))
        self._release(instance)
        return outcome

    def _result(self, invocation: Invocation, outcome: Reply | Failed) -> InvocationResult:
        if outcome.stdout or outcome.stderr or outcome.logs:
            spec = self.spec
            emit_captured(self._sink, invocation.request_id, spec.function, spec.revision, outcome)
        if isinstance(outcome, Reply):
            return InvocationResult(
                status=outcome.status, headers=outcome.headers, body=outcome.body
            )
        raise FunctionFailed(outcome.message, traceback=outcome.traceback)

    def _pick(self) -> Instance | None:
        """The first ready instance with a free slot.

        Packing work onto the first instances, rather than spreading it, keeps a busy
        worker busy: it finds the next request already waiting instead of sleeping and
        being woken for it, which on a VM costs more than a fast invocation. Instances
        at the end of the list then fall idle and the reaper stops them.
        """
        concurrency = self._concurrency
        for instance in self._ready:
            if instance.in_flight < concurrency:
                instance.in_flight += 1
                return instance
        return None

    async def _wait_for_slot(self) -> Instance:
        if self._closed:
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
        waiter: asyncio.Future[Instance] = self._loop.create_future()
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

    def _expire_waiter(self, waiter: asyncio.Future[Instance]) -> None:
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

    def _release(self, instance: Instance) -> None:
        instance.in_flight -= 1
        instance.last_used = self._loop.time()
        if instance.state == "draining":
            if not instance.in_flight:
                self._stop(instance, "drained after a timeout", kill=True)
        elif self._waiters:
            self._hand_over(instance)
        if self._closed:
            self._check_drained()

    def _hand_over(self, instance: Instance) -> None:
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

    # --- InstanceOwner ---------------------------------------------------------------

    def instance_died(self, instance: Instance) -> None:
        self._forget(instance)
        self._grow()  # replace it (its own in-flight invocations fail with the reason)
        if self._closed:
            self._check_drained()

    def instance_released(self, instance: Instance) -> None:
        self._release(instance)

    def instance_expired(self, instance: Instance) -> None:
        # A sync handler cannot be interrupted: stop routing to this worker, let its
        # other invocations finish, then kill it. A fresh one takes its place.
        instance.in_flight -= 1
        if instance.state == "ready":
            instance.state = "draining"
            self._ready.remove(instance)
            self._draining.append(instance)
            self._grow()
        if not instance.in_flight:
            self._stop(instance, "drained after a timeout", kill=True)
        if self._closed:
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
        self._closed = True
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
        self._ready, self._draining = [], []
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

    def _stop(self, instance: Instance, reason: str, *, kill: bool = False) -> None:
        self._forget(instance)
        self._background(self._stopping, instance.stop(reason, kill=kill))

    def _forget(self, instance: Instance) -> None:
        if instance in self._ready:
            self._ready.remove(instance)
        elif instance in self._draining:
            self._draining.remove(instance)

    def instances(self) -> list[Instance]:
        return self._ready + self._draining

    def status(self) -> PoolStatus:
        live = self._ready + self._draining
        return PoolStatus(
            key=self.key,
            instances=len(live) + self._starting,
            ready=len(self._ready),
            in_flight=sum(i.in_flight for i in live),
            queued=len(self._waiters),
        )
