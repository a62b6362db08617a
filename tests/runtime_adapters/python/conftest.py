from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from runtime_adapters.base import (
    HttpRequest,
    Invocation,
    InvocationResult,
    PoolSpec,
    RevisionSpec,
)
from runtime_adapters.python import PythonRuntime

KIT = Path(__file__).parent / "functions" / "kit"


def require_bwrap() -> None:
    """Sandbox tests need bubblewrap; in CI its absence is a failure, never a skip."""
    if shutil.which("bwrap") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bwrap (bubblewrap) is not installed: CI must run the sandbox tests")
        pytest.skip("bwrap (bubblewrap) is not installed")


def spec(
    handler: str = "main.hello",
    *,
    bundle: Path = KIT,
    function: str = "kit",
    revision: int = 1,
    pool: PoolSpec | None = None,
    **fields: Any,
) -> RevisionSpec:
    return RevisionSpec(
        function=function,
        revision=revision,
        digest=f"sha256:{function}-{revision}",
        runtime="python",
        bundle_dir=bundle,
        handler=handler,
        pool=pool or PoolSpec(min=1, max=2, idle_s=60),
        **fields,
    )


def http(
    path: str = "/",
    *,
    query: bytes = b"",
    body: bytes = b"",
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    params: dict[str, str] | None = None,
    request_id: str = "req-1",
    raw_path: bytes = b"",
) -> Invocation:
    return Invocation(
        request_id=request_id,
        trigger="http",
        alias="prod",
        event=HttpRequest(
            method=method,
            path=path,
            query_string=query,
            headers=headers or [],
            params=params or {},
            body=body,
            raw_path=raw_path,
        ),
    )


def json_body(result: InvocationResult) -> Any:
    return msgspec.json.decode(result.body)


async def eventually(
    predicate: Callable[[], bool], *, within: float = 10.0, what: str = "condition"
) -> None:
    """Wait for a condition with a deadline (polling: the runtime has no hook for it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.01)


class Sink:
    """Collects the runtime's log records."""

    def __init__(self) -> None:
        self.records: list[dict[str, object]] = []

    def __call__(self, record: dict[str, object]) -> None:
        self.records.append(record)

    def for_request(self, request_id: str) -> list[dict[str, object]]:
        return [r for r in self.records if r.get("request_id") == request_id]


MakeRuntime = Callable[..., Awaitable[PythonRuntime]]


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
async def make_runtime(tmp_path: Path, sink: Sink) -> AsyncIterator[MakeRuntime]:
    """PythonRuntimes on this test's loop, closed at teardown (sandbox: auto)."""
    runtimes: list[PythonRuntime] = []

    async def make(**options: Any) -> PythonRuntime:
        options.setdefault("log_sink", sink)
        options.setdefault("stop_grace_s", 1.0)
        runtime = PythonRuntime(tmp_path / f"state{len(runtimes)}", **options)
        runtimes.append(runtime)
        await runtime.start()
        return runtime

    yield make
    for runtime in runtimes:
        await asyncio.wait_for(runtime.aclose(), 15)


@pytest.fixture
async def runtime(make_runtime: MakeRuntime) -> PythonRuntime:
    return await make_runtime()
