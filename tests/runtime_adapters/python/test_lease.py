"""An ASGI app's worker serves HTTP itself, and the runtime lends its slots for requests
passed straight to it (runtime_adapters/python/lease.py, http_serve.py): real sandboxed
workers, asked over their unix sockets with the gateway's own HTTP client."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from httpkit.client import ClientError
from runtime_adapters.base import InvocationTimeout, PoolSpec
from runtime_adapters.python import PythonRuntime
from runtime_adapters.python.lease import WorkerHttp, WorkerLease

from .conftest import Sink, eventually, http
from .test_webapps import app_spec


async def _ask(lease: WorkerLease, headers: list[tuple[bytes, bytes]], body: bytes) -> object:
    response = await lease.client.request(lease.origin, "POST", b"/shop/a%2Fb?x=1", headers, body)
    data = await response.read(1 << 20)
    response.release()
    assert response.status == 207 and data is not None
    return json.loads(data)


async def test_an_asgi_worker_answers_a_lent_slot_as_uvicorn_with_its_context(
    runtime: PythonRuntime,
) -> None:
    spec = app_spec("apps:asgi_echo", "asgi", concurrency=2)
    await runtime.warm(spec)
    first, second = runtime.lease(spec.key), runtime.lease(spec.key)
    assert isinstance(first, WorkerLease) and isinstance(second, WorkerLease)
    assert runtime.lease(spec.key) is None  # both slots lent: the next is invoked (queued)
    (info,) = runtime.instances(spec.key)
    assert info.in_flight == 2
    headers = [
        (b"host", b"shop.test"),
        (b"x-gaia-context", b"a client's own"),
        (b"x-multi", b"a"),
        (b"x-gaia-context", b"req-7 live"),
    ]
    seen = await _ask(first, headers, b"body")
    assert seen == {
        "path": "/shop/a/b",
        "raw_path": "/shop/a%2Fb",
        "root_path": "",
        "query_string": "x=1",
        # The gateway's own context header (the last) is taken out; the client's stays.
        "headers": [
            ["host", "shop.test"],
            ["x-gaia-context", "a client's own"],
            ["x-multi", "a"],
            ["content-length", "4"],
        ],
        "body": "body",
        "state": "hi from startup",
        "startups": 1,
        "request_id": "req-7",
        "fixed": ["1.1", "http", None, None],
    }
    first.release(207)
    second.release(None)
    assert runtime.instances(spec.key)[0].in_flight == 0


async def test_function_and_wsgi_revisions_lend_no_slot(runtime: PythonRuntime) -> None:
    wsgi = app_spec("apps:wsgi_echo", "wsgi")
    # A handler function (any callable of the module loads as one).
    function = replace(app_spec("apps:wsgi_echo", "wsgi"), function="fn", handler="apps.wsgi_echo",
                       settings={})  # fmt: skip
    for spec in (wsgi, function):
        await runtime.warm(spec)
        assert runtime.lease(spec.key) is None
        assert runtime.instances(spec.key)[0].in_flight == 0  # no slot taken either


async def test_a_timed_out_lease_drains_its_worker_as_an_invocation_would(
    runtime: PythonRuntime,
) -> None:
    spec = app_spec("apps:asgi_echo", "asgi", pool=PoolSpec(min=1, max=1, idle_s=60))
    await runtime.warm(spec)
    lease = runtime.lease(spec.key)
    assert isinstance(lease, WorkerLease)
    (before,) = runtime.instances(spec.key)
    failed = lease.failure(ClientError("slow", reason="read_timeout"))
    assert isinstance(failed, InvocationTimeout)
    assert failed.message == f"{spec.key} did not answer within {spec.timeout_s:g}s"
    lease.release(None)
    # Replaced: a new worker takes its place and lends its slot in turn.
    await eventually(
        lambda: (
            [i.name for i in runtime.instances(spec.key)] not in ([], [before.name])
            and runtime.instances(spec.key)[0].state == "ready"
        ),
        what="the drained worker's successor",
    )
    assert isinstance(runtime.lease(spec.key), WorkerLease)


async def test_a_connection_to_a_gone_worker_fails_naming_it(runtime: PythonRuntime) -> None:
    spec = app_spec("apps:asgi_echo", "asgi")
    await runtime.warm(spec)
    lease = runtime.lease(spec.key)
    assert isinstance(lease, WorkerLease)
    client = lease.client
    assert isinstance(client, WorkerHttp)
    client.forget(lease.origin)
    try:
        await client.connect(lease.origin)
    except ClientError as exc:
        assert exc.reason == "connect_failed"
        assert exc.message == f"worker {lease.origin.port} is gone"
    else:
        raise AssertionError("connected to a forgotten worker")
    lease.release(None)


async def test_a_worker_without_network_still_serves_its_lent_slots(
    runtime: PythonRuntime,
) -> None:
    """Its socket is the gateway's, bound on the host and inherited: no network
    namespace is needed to reach it."""
    spec = replace(app_spec("apps:asgi_echo", "asgi"), network=False)
    await runtime.warm(spec)
    lease = runtime.lease(spec.key)
    assert isinstance(lease, WorkerLease)
    seen = await _ask(lease, [(b"host", b"shop.test"), (b"x-gaia-context", b"req-9 ")], b"")
    assert isinstance(seen, dict) and seen["request_id"] == "req-9"
    lease.release(207)


async def test_where_no_socket_can_be_bound_every_request_is_invoked(
    tmp_path: Path, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    """A state dir whose slots' paths are too long for AF_UNIX (108 bytes): the worker
    gets no socket, lends no slot, and its app answers invocations as before."""
    state = tmp_path / ("s" * 120)
    runtime = PythonRuntime(state, log_sink=sink, stop_grace_s=1.0)
    try:
        await runtime.start()
        spec = app_spec("apps:asgi_echo", "asgi")
        await runtime.warm(spec)
        assert runtime.lease(spec.key) is None
        result = await runtime.invoke(spec.key, http("/shop/x"))
        assert result.status == 207
    finally:
        await runtime.aclose()
    assert "no HTTP socket for a Python worker" in caplog.text


async def test_a_retiring_pool_lends_no_slot(runtime: PythonRuntime) -> None:
    """The data plane may keep a pool's `lease` (PoolRuntime.lessor): once the pool is
    retiring (its last requests draining) it lends nothing more, and the caller looks
    for the revision's pool again."""
    spec = app_spec("apps:asgi_echo", "asgi", concurrency=2)
    await runtime.warm(spec)
    lend = runtime.lessor(spec.key)
    assert lend is not None
    first = lend()
    assert isinstance(first, WorkerLease)
    retiring = asyncio.ensure_future(runtime.retire(spec.key))
    await eventually(lambda: runtime.lessor(spec.key) is None, what="the pool's retirement")
    assert not retiring.done()  # draining the lent slot: a free one is left, unlent
    assert lend() is None
    first.release(200)
    await retiring
