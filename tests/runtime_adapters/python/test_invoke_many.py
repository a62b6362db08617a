"""invoke_many: invocations run in order on one instance, stopping at the first failure."""

from __future__ import annotations

import pytest

from runtime_adapters.base import FunctionFailed, Invocation, InvocationResult
from runtime_adapters.python import PythonRuntime

from .conftest import json_body, spec


def events(*data: str) -> list[Invocation]:
    return [
        Invocation(
            request_id=f"r{n}", trigger="t/kafka/0", alias="prod", event={"id": str(n), "data": d}
        )
        for n, d in enumerate(data)
    ]


@pytest.mark.parametrize("handler", ["main.ordered", "main.ordered_async"])
async def test_all_run_in_order_with_their_own_request_ids(
    runtime: PythonRuntime, handler: str
) -> None:
    described = spec(handler)
    await runtime.warm(described)
    results = await runtime.invoke_many(described.key, events("a", "b", "c", "d"))
    assert all(isinstance(r, InvocationResult) for r in results)
    bodies = [json_body(r) for r in results if isinstance(r, InvocationResult)]
    assert bodies == [{"data": d, "request_id": f"r{n}"} for n, d in enumerate("abcd")]


@pytest.mark.parametrize("handler", ["main.ordered", "main.ordered_async"])
async def test_the_run_stops_after_the_first_failure(runtime: PythonRuntime, handler: str) -> None:
    described = spec(handler)
    await runtime.warm(described)
    raised = await runtime.invoke_many(described.key, events("a", "raise", "b"))
    assert len(raised) == 2 and isinstance(raised[1], FunctionFailed)
    assert "item failed" in raised[1].message
    answered_500 = await runtime.invoke_many(described.key, events("a", "500", "b"))
    assert [r.status for r in answered_500 if isinstance(r, InvocationResult)] == [200, 500]
    # The worker is still fine for the next run.
    again = await runtime.invoke_many(described.key, events("x"))
    assert [json_body(r)["data"] for r in again if isinstance(r, InvocationResult)] == ["x"]
