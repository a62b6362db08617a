"""An in-memory Runtime for unit tests of the code above runtime_adapters.

Revisions are Python callables `handler(invocation, spec)`, registered per RevisionKey
or by handler name (`RevisionSpec.handler`, so a test publishes `handler: ok.fn` to
pick one). Invocations run in the test's own event loop and fail the way a real
runtime's do: FunctionFailed when the callable raises (with its traceback),
InvocationTimeout past the spec's timeout, PoolSaturated once `capacity` invocations
are in flight, and any RuntimeAdapterError the callable raises itself (raise
InstanceLost to play a crashed worker). A return value is an InvocationResult, or is
mapped like a real handler's (str, bytes, dict/list, None, response mapping).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime_adapters.base import (
    FunctionFailed,
    Invocation,
    InvocationResult,
    InvocationTimeout,
    PoolSaturated,
    PoolStatus,
    RevisionKey,
    RevisionSpec,
    RevisionUnknown,
    Runtime,
    RuntimeAdapterError,
    WarmupError,
)
from runtime_adapters.python.handlers import describe_exception, format_exception
from runtime_adapters.python.responses import to_response

Handler = Callable[[Invocation, RevisionSpec], object]


@dataclass
class _Pool:
    spec: RevisionSpec
    handler: Handler
    in_flight: int = 0
    invocations: list[Invocation] = field(default_factory=list)


class MemoryRuntime(Runtime):
    name = "python"

    def __init__(
        self, handlers: dict[str | RevisionKey, Handler] | None = None, *, capacity: int = 64
    ) -> None:
        self.handlers: dict[str | RevisionKey, Handler] = dict(handlers or {})
        self.capacity = capacity  # in-flight invocations per revision before PoolSaturated
        self.pools: dict[RevisionKey, _Pool] = {}
        self.retired: list[RevisionKey] = []

    async def warm(self, spec: RevisionSpec) -> None:
        if spec.key in self.pools:
            return
        handler = self.handlers.get(spec.key) or self.handlers.get(spec.handler)
        if handler is None:
            raise WarmupError(f"{spec.key}: cannot import handler {spec.handler!r}")
        self.pools[spec.key] = _Pool(spec=spec, handler=handler)

    async def invoke(self, key: RevisionKey, invocation: Invocation) -> InvocationResult:
        pool = self.pools.get(key)
        if pool is None:
            raise RevisionUnknown(f"{key} is not warm")
        if pool.in_flight >= self.capacity:
            raise PoolSaturated(
                f"{key} has {pool.in_flight} invocations in flight", reason="queue_full"
            )
        pool.in_flight += 1
        pool.invocations.append(invocation)
        deadline = asyncio.timeout(pool.spec.timeout_s)
        try:
            async with deadline:
                value = pool.handler(invocation, pool.spec)
                if inspect.isawaitable(value):
                    value = await value
            if isinstance(value, InvocationResult):
                return value
            status, headers, body = to_response(value)
        except RuntimeAdapterError:
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError) and deadline.expired():
                message = f"{key} did not answer within {pool.spec.timeout_s:g}s"
                raise InvocationTimeout(message) from None
            raise FunctionFailed(describe_exception(exc), traceback=format_exception(exc)) from exc
        finally:
            pool.in_flight -= 1
        return InvocationResult(status=status, headers=headers, body=body)

    async def retire(self, key: RevisionKey) -> None:
        if self.pools.pop(key, None) is not None:
            self.retired.append(key)

    def status(self) -> list[PoolStatus]:
        return [
            PoolStatus(key=key, instances=1, ready=1, in_flight=pool.in_flight, queued=0)
            for key, pool in self.pools.items()
        ]

    async def aclose(self) -> None:
        self.pools.clear()
