"""MemoryRuntime: the in-memory fake the gateway's unit tests run functions on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runtime_adapters.base import (
    FunctionFailed,
    HttpRequest,
    InstanceLost,
    Invocation,
    InvocationResult,
    InvocationTimeout,
    PoolSaturated,
    RevisionKey,
    RevisionSpec,
    RevisionUnknown,
    WarmupError,
)
from runtime_adapters.memory import Handler, MemoryRuntime

KEY = RevisionKey(function="fn", revision=1)


def spec(timeout_s: float = 1.0, handler: str = "main.handler") -> RevisionSpec:
    return RevisionSpec(
        function="fn",
        revision=1,
        digest="d",
        runtime="python",
        bundle_dir=Path("/nonexistent"),
        handler=handler,
        timeout_s=timeout_s,
    )


INVOCATION = Invocation(
    request_id="req-1",
    trigger="http",
    alias="prod",
    event=HttpRequest(
        method="GET", path="/fn", query_string=b"", headers=[], params={"p": "1"}, body=b""
    ),
)


async def warmed(handler: Handler, timeout_s: float = 1.0) -> MemoryRuntime:
    runtime = MemoryRuntime({KEY: handler})
    await runtime.warm(spec(timeout_s))
    return runtime


async def test_handlers_registered_by_revision_or_by_handler_name() -> None:
    by_name = MemoryRuntime({"main.handler": lambda invocation, spec: "by name"})
    by_key = MemoryRuntime({KEY: lambda invocation, spec: "by key", "main.handler": print})
    for runtime, expected in ((by_name, b"by name"), (by_key, b"by key")):
        await runtime.warm(spec())
        result = await runtime.invoke(KEY, INVOCATION)
        assert (result.status, result.body) == (200, expected)
        assert dict(result.headers)[b"content-type"] == b"text/plain; charset=utf-8"
        assert runtime.pools[KEY].invocations == [INVOCATION]


@pytest.mark.parametrize(
    ("value", "status", "body"),
    [
        ({"a": 1}, 200, b'{"a":1}'),
        (None, 204, b""),
        ({"status": 201, "body": "made"}, 201, b"made"),
        (InvocationResult(status=418, headers=[], body=b"teapot"), 418, b"teapot"),
    ],
)
async def test_return_values_map_like_a_real_handlers(
    value: object, status: int, body: bytes
) -> None:
    async def handler(invocation: Invocation, spec: RevisionSpec) -> object:
        return value

    result = await (await warmed(handler)).invoke(KEY, INVOCATION)
    assert (result.status, result.body) == (status, body)


async def test_exception_is_function_failed_with_the_handlers_traceback() -> None:
    def handler(invocation: Invocation, spec: RevisionSpec) -> None:
        raise KeyError("nope")

    runtime = await warmed(handler)
    with pytest.raises(FunctionFailed) as caught:
        await runtime.invoke(KEY, INVOCATION)
    assert caught.value.message == "KeyError: 'nope'"
    assert 'raise KeyError("nope")' in caught.value.traceback


async def test_timeout() -> None:
    async def handler(invocation: Invocation, spec: RevisionSpec) -> str:
        await asyncio.sleep(5)
        return "late"

    runtime = await warmed(handler, timeout_s=0.05)
    with pytest.raises(InvocationTimeout):
        await runtime.invoke(KEY, INVOCATION)
    assert runtime.status()[0].in_flight == 0


async def test_a_handlers_own_timeout_error_is_a_failure_not_a_timeout() -> None:
    def handler(invocation: Invocation, spec: RevisionSpec) -> None:
        raise TimeoutError("upstream")

    with pytest.raises(FunctionFailed, match="upstream"):
        await (await warmed(handler)).invoke(KEY, INVOCATION)


async def test_capacity_makes_the_pool_saturated() -> None:
    release = asyncio.Event()

    async def handler(invocation: Invocation, spec: RevisionSpec) -> str:
        await release.wait()
        return "ok"

    runtime = await warmed(handler)
    runtime.capacity = 1
    first = asyncio.ensure_future(runtime.invoke(KEY, INVOCATION))
    await asyncio.sleep(0)
    with pytest.raises(PoolSaturated):
        await runtime.invoke(KEY, INVOCATION)
    release.set()
    assert (await first).body == b"ok"


async def test_runtime_errors_raised_by_a_handler_pass_through() -> None:
    def handler(invocation: Invocation, spec: RevisionSpec) -> None:
        raise InstanceLost("worker killed by SIGKILL")

    with pytest.raises(InstanceLost, match="SIGKILL"):
        await (await warmed(handler)).invoke(KEY, INVOCATION)


async def test_unknown_and_retired_revisions() -> None:
    runtime = MemoryRuntime()
    with pytest.raises(WarmupError):
        await runtime.warm(spec())
    with pytest.raises(RevisionUnknown):
        await runtime.invoke(KEY, INVOCATION)
    runtime.handlers[KEY] = lambda invocation, spec: "ok"
    await runtime.warm(spec())
    await runtime.retire(KEY)
    assert runtime.retired == [KEY]
    with pytest.raises(RevisionUnknown):
        await runtime.invoke(KEY, INVOCATION)
