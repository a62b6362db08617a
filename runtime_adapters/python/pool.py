"""A revision's pool of Python workers: the shared slot pool (runtime_adapters/pool.py)
with workers taken from the spare pool, and invocations sent over their sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from httpkit.client import Origin
from runtime_adapters.base import (
    FunctionFailed,
    InstanceLost,
    Invocation,
    InvocationResult,
    RevisionSpec,
    WarmupError,
)
from runtime_adapters.pool import SlotPool
from runtime_adapters.python.connection import Outcome, WorkerConnection
from runtime_adapters.python.instance import Instance
from runtime_adapters.python.lease import WorkerHttp, WorkerLessor
from runtime_adapters.python.logs import LogSink, emit_captured
from runtime_adapters.python.protocol import Failed, ManyReplies, Reply
from runtime_adapters.python.spares import SparePool


@dataclass(frozen=True, kw_only=True)
class PoolOptions:
    queue_limit: int | None  # None: each revision's own pool.queue
    load_timeout_s: float


class RevisionPool(SlotPool[Instance]):
    """A revision's pool of Python workers, taken from the spare pool and loaded."""

    def __init__(
        self, spec: RevisionSpec, *, spares: SparePool, options: PoolOptions, sink: LogSink
    ) -> None:
        super().__init__(spec, queue_limit=options.queue_limit)
        self._spares = spares
        self._options = options
        self._sink = sink
        self._timeout_ms = int(spec.timeout_s * 1000)
        # Connections to the workers' own HTTP servers (an ASGI app's), made on first use.
        self.http = WorkerHttp(timeout_s=spec.timeout_s)
        self._origins: dict[Instance, Origin] = {}
        self.lease = WorkerLessor(self, self._slots, self._origins, client=self.http).lease

    async def _start_instance(self) -> Instance:
        instance: Instance | None = None
        try:
            instance = await self._spares.take(network=self.spec.network)
            await instance.load(self.spec, owner=self, timeout_s=self._options.load_timeout_s)
            if instance.http_path is not None:
                self._origins[instance] = self.http.origin_of(instance)
        except OSError as exc:
            raise WarmupError(f"{self.key}: cannot start a worker: {exc}") from exc
        except asyncio.CancelledError:
            if instance is not None:
                self._background(self._stopping, instance.stop("start cancelled", kill=True))
            raise
        return instance

    # --- HTTP passed straight to an ASGI app's worker ---------------------------------

    def _forget(self, instance: Instance) -> None:
        super()._forget(instance)
        origin = self._origins.pop(instance, None)
        if origin is not None:
            self.http.forget(origin)

    async def close(self, grace_s: float) -> None:
        await super().close(grace_s)
        await self.http.aclose()

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
        instance = None if self._waiters else self._pick()
        if instance is None:
            instance, timeout_s = await self._queued(timeout_s)
        timeout_ms = int(timeout_s * 1000)
        conn = instance.conn
        future: asyncio.Future[Outcome] = self._loop.create_future()
        sent_at = self._estimate.now()
        request_id = send(conn, future, timeout_ms)
        # On cancellation the timer stays armed: the slot comes back with the late
        # reply, or the timeout drains the instance. A timeout's accounting is done by
        # instance_expired; a lost instance takes its slots with it.
        timer = self.deadlines.call_later(timeout_s, conn.expire, request_id)
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
            emit_captured(self._sink, invocation, spec.function, spec.revision, outcome)
        if isinstance(outcome, Reply):
            return InvocationResult(
                status=outcome.status, headers=outcome.headers, body=outcome.body
            )
        raise FunctionFailed(outcome.message, traceback=outcome.traceback)
