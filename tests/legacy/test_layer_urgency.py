"""Shadow copies are not busy-polled for; the client's invocations still are.

The legacy layer as `gaia up` assembles it (a real control plane, invoker and router),
before the real old API (tests/legacy/oldapi.py, its own process) and a function in real
Python worker processes: the runtime counts how each invocation's reply was waited for
(runtime_adapters/python/busypoll.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from gateway.store import MemoryStore
from legacy.layer import LegacyLayer
from legacy.ports import Evidence
from legacy.router import LegacyRouter
from runtime_adapters.python import PythonRuntime
from tests.legacy.fakes import call
from tests.legacy.oldapi import OldApi
from tests.runtime_adapters.python.conftest import eventually

Parse = Callable[..., GaiaFile]
COPIES = 5  # under shadow.rate's one second's worth (10): every request is copied
# What the old API's /hello answers, to the header the comparison looks at.
HELLO = (
    "def handler(event, context):\n"
    '    return {"status": 200, "headers": {"content-type": "text/plain"}, "body": "hello"}\n'
)


@pytest.fixture
async def python_runtime(tmp_path: Path) -> AsyncIterator[PythonRuntime]:
    runtime = PythonRuntime(tmp_path / "state", log_sink=lambda record: None, stop_grace_s=1.0)
    await runtime.start()
    yield runtime
    await asyncio.wait_for(runtime.aclose(), 15)


async def test_shadow_copies_leave_their_replies_to_the_loop_and_clients_are_polled_for(
    tmp_path: Path, python_runtime: PythonRuntime, old_api: OldApi, gaia_file: Parse
) -> None:
    control = ControlPlane(
        store=MemoryStore(),
        bundles_root=tmp_path / "bundles",
        runtimes={"python": python_runtime},
    )
    await control.start()
    await control.apply(
        gaia_file(
            f"""
functions:
  hello: {{code: ./hello}}
legacy:
  upstream: {old_api.url}
  shadow: {{noise_sample: 0}}
  routes:
    - {{path: /hello, function: hello, state: shadow}}
""",
            code={"hello": HELLO},
        )
    )
    layer = LegacyLayer(
        control=control,
        invoker=Invoker(control=control, metrics=Metrics()),
        body_limit=1024 * 1024,
        drain_timeout_s=1.0,
    )
    await layer.start()
    try:
        router = layer.router
        assert isinstance(router, LegacyRouter)
        counts = python_runtime.busy_poll
        for n in range(COPIES):
            seen = await call(router, "GET", "/hello", request_id=f"copy-{n}")
            assert (seen.status, seen.body) == (200, b"hello")
        await eventually(lambda: counts.unhurried == COPIES, what="every copy invoked")

        # Every copy was compared (the function answers as the old API does), and not one
        # of the invocations that made those answers was polled for.
        def evidence() -> Evidence:
            found = router.observations.evidence("/hello")
            assert found is not None
            return found

        await eventually(lambda: evidence().samples == COPIES, what="every copy compared")
        assert (evidence().mismatches, counts.polled) == (0, 0), evidence().example

        # The route taken over: the function answers the client, which waits on it.
        await control.set_route("/hello", state="function", percent=None, force=True, by="test")
        for n in range(3):
            seen = await call(router, "GET", "/hello", request_id=f"client-{n}")
            assert (seen.status, seen.body, seen.headers["x-gaia-revision"]) == (
                200,
                b"hello",
                "hello@1",
            )
        assert (counts.polled, counts.unhurried) == (3, COPIES)
    finally:
        await layer.aclose()
