"""The splice plans keep a revision's pool's own `lease` (gateway/splice_plan.py `Leg`)
instead of looking the pool up per request: a pool warmed after the plan, and one
retired and replaced under the same config snapshot, still lend, and a retired pool
never does. The runtime is a PoolRuntime (runtime_adapters/pool_runtime.py) whose
pools lend while they are open."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from gateway.accesslog import JsonLines
from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.dataplane import DataPlane
from gateway.http.splice import RequestHead, SpliceOutcome
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from runtime_adapters.base import (
    Invocation,
    InvocationResult,
    PoolStatus,
    RevisionKey,
    RevisionSpec,
)
from runtime_adapters.pool_runtime import PoolRuntime
from triggers.http.splice import TriggerSplice

from .test_splice_plan import _apply, _Lease

Parse = Callable[..., GaiaFile]


class _Pool:
    def __init__(self, spec: RevisionSpec) -> None:
        self.spec = spec
        self.closed = False
        self.lent = 0

    async def warm(self) -> None:
        return None

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        raise AssertionError("every request here is spliced")

    def reap(self, now: float) -> None:
        return None

    def lease(self) -> _Lease | None:
        if self.closed:
            return None
        self.lent += 1
        return _Lease(self.spec.key)

    async def close(self, grace_s: float) -> None:
        self.closed = True

    def status(self) -> PoolStatus:
        raise AssertionError("not asked")


class _Pools(PoolRuntime):
    name = "python"

    async def _new_pool(self, spec: RevisionSpec) -> _Pool:
        return _Pool(spec)

    def pool(self, key: RevisionKey) -> _Pool:
        pool = self._pools[key]
        assert isinstance(pool, _Pool)
        return pool


@pytest.fixture
def runtime() -> _Pools:
    return _Pools(stop_grace_s=0)


def _spliced(plane: DataPlane) -> bool:
    head = RequestHead("GET", "/hello", b"/hello", b"", [], None, "http", "1.1", True)
    splice = plane.splice(head)
    if splice is None:
        return False
    assert isinstance(splice, TriggerSplice)
    splice.finished(SpliceOutcome(200, None, 0.001, None, None))
    return True


async def test_a_replaced_pool_lends_and_a_retired_one_never(
    control: ControlPlane, runtime: _Pools, gaia_file: Parse
) -> None:
    await _apply(control, gaia_file, "[{revision: latest, percent: 100}]", code="v1")
    plane = DataPlane(
        control=control,
        invoker=Invoker(control=control, metrics=Metrics()),
        access_log=JsonLines(io.BytesIO()),
    )
    key = RevisionKey(function="hello", revision=1)
    spec = control.snapshot.revisions[key]
    # the pool goes before the first request: the plan's leg finds none, and lends none
    await runtime.retire(key)
    assert not _spliced(plane)
    # warmed again under the same snapshot: found at the next request
    await runtime.warm(spec)
    first = runtime.pool(key)
    assert [_spliced(plane) for _ in range(3)] == [True] * 3 and first.lent == 3
    # replaced under the same snapshot: the retired pool lends nothing, the new one does
    await runtime.retire(key)
    await runtime.warm(spec)
    second = runtime.pool(key)
    assert second is not first and first.closed
    assert [_spliced(plane) for _ in range(2)] == [True, True]
    assert (first.lent, second.lent) == (3, 2)
    # retired for good: invoked (the ASGI path answers), never lent by the closed pool
    await runtime.retire(key)
    assert not _spliced(plane)
    assert (first.lent, second.lent) == (3, 2)
