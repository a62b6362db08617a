"""An in-memory Runtime for unit tests of the code above runtime_adapters.

Revisions are Python callables registered by handler name; invocations run in the
test's own event loop with the same errors a real runtime raises.
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
    WarmupError,
)

Handler = Callable[[Invocation, RevisionSpec], object]


@dataclass
class _Pool:
    spec: RevisionSpec
    handler: Handler
    in_flight: int = 0
    invocations: list[Invocation] = field(default_factory=list)


class MemoryRuntime(Runtime):
    name = "python"

    def __init__(self, handlers: dict[str, Handler] | None = None, *, capacity: int = 64) -> None:
        # Keyed by RevisionSpec.handler, so a test publishes `handler: ok.fn` to pick one.
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.capacity = capacity
        self.pools: dict[RevisionKey, _Pool] = {}
        self.retired: list[RevisionKey] = []

    async def warm(self, spec: RevisionSpec) -> None:
        if spec.key in self.pools:
            return
        handler = self.handlers.get(spec.handler)
        if handler is None:
            raise WarmupError(f"cannot import handler {spec.handler!r}")
        self.pools[spec.key] = _Pool(spec=spec, handler=handler)

    async def invoke(self, key: RevisionKey, invocation: Invocation) -> InvocationResult:
        pool = self.pools.get(key)
        if pool is None:
            raise RevisionUnknown(f"{key} is not warm")
        if pool.in_flight >= self.capacity:
            raise PoolSaturated(f"{key} has {pool.in_flight} invocations in flight")
        pool.in_flight += 1
        pool.invocations.append(invocation)
        try:
            async with asyncio.timeout(pool.spec.timeout_s):
                value = pool.handler(invocation, pool.spec)
                if inspect.isawaitable(value):
                    value = await value
        except TimeoutError:
            raise InvocationTimeout(f"{key} timed out after {pool.spec.timeout_s}s") from None
        except Exception as exc:
            raise FunctionFailed(str(exc), traceback=repr(exc)) from exc
        finally:
            pool.in_flight -= 1
        if isinstance(value, InvocationResult):
            return value
        body = value if isinstance(value, bytes) else str(value).encode()
        return InvocationResult(
            status=200, headers=[(b"content-type", b"text/plain; charset=utf-8")], body=body
        )

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
