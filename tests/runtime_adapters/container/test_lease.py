"""A container instance's slots lent for requests passed straight to it
(runtime_adapters/container/lease.py, slots.py): real sandboxed Node.js instances, asked
with the gateway's own HTTP client over the lease, as the data plane's splice asks them.
A lent slot counts as an invocation's would: it bounds the instance's concurrency, a
queued invocation gets it when it comes back, and a retirement waits for it."""

from __future__ import annotations

import asyncio
import json

import pytest

from runtime_adapters.base import InstanceLost, RevisionKey
from runtime_adapters.container.lease import ContainerLease
from runtime_adapters.container.runtime import ContainerRuntime
from runtime_adapters.lease import HttpLease
from tests.runtime_adapters.container.conftest import APPS, container_spec, require
from tests.runtime_adapters.python.conftest import eventually, http

NODE = APPS / "node"


@pytest.fixture(autouse=True)
def _node() -> None:
    require("node")


async def _ask(lease: HttpLease) -> dict[str, object]:
    """What the instance saw of a GET over the lease, as the splice sends it."""
    host = [(b"host", lease.origin.authority)]
    response = await lease.client.request(lease.origin, "GET", b"/lent", host, b"")
    data = await response.read(1 << 20)
    response.release()
    assert response.status == 201 and data is not None
    seen: dict[str, object] = json.loads(data)
    return seen


async def _warmed(
    runtime: ContainerRuntime, *, concurrency: int = 1, function_timeout: str = "10s"
) -> RevisionKey:
    """A revision of one Node.js instance, warm."""
    spec = container_spec(
        NODE,
        command=["node", "server.js"],
        concurrency=concurrency,
        timeout=function_timeout,
        pool={"max": 1},
    )
    await runtime.warm(spec)
    return spec.key


def _lease(runtime: ContainerRuntime, key: RevisionKey) -> ContainerLease:
    lease = runtime.lease(key)
    assert isinstance(lease, ContainerLease), lease
    return lease


async def test_lent_slots_reach_the_instance_and_count_against_its_concurrency(
    runtime: ContainerRuntime,
) -> None:
    key = await _warmed(runtime, concurrency=2, function_timeout="7s")
    first, second = _lease(runtime, key), _lease(runtime, key)
    assert runtime.lease(key) is None  # both slots lent: the next is invoked
    assert runtime.status()[0].in_flight == 2
    assert (first.timeout_s, first.announces_request) == (7.0, False)
    assert (first.origin, first.client) == (second.origin, second.client)
    seen = await _ask(first)
    assert (seen["path"], seen["port"]) == ("/lent", str(first.origin.port))
    first.release(201)
    assert runtime.status()[0].in_flight == 1
    third = _lease(runtime, key)  # the slot given back is lent again
    second.release(None)
    third.release(None)
    assert runtime.status()[0].in_flight == 0


async def test_a_slot_given_back_goes_to_the_queued_invocation_first(
    runtime: ContainerRuntime,
) -> None:
    key = await _warmed(runtime, concurrency=1)
    lease = runtime.lease(key)
    assert lease is not None
    queued = asyncio.ensure_future(runtime.invoke(key, http("/queued")))
    await eventually(lambda: runtime.status()[0].queued == 1, what="the invocation queued")
    # Queued work goes first: nothing is lent past it, even for a moment.
    assert runtime.lease(key) is None
    assert not queued.done()
    lease.release(201)
    result = await asyncio.wait_for(queued, 10)
    assert json.loads(result.body)["path"] == "/queued"
    status = runtime.status()[0]
    assert (status.queued, status.in_flight) == (0, 0)
    assert runtime.lease(key) is not None


async def test_after_a_crash_slots_are_lent_on_the_replacement(
    runtime: ContainerRuntime,
) -> None:
    key = await _warmed(runtime)
    lease = _lease(runtime, key)
    before = await _ask(lease)
    lease.release(201)
    with pytest.raises(InstanceLost, match="exited with code 3"):
        await runtime.invoke(key, http("/crash"))
    await eventually(lambda: runtime.status()[0].ready == 1, what="the replacement")
    lease = _lease(runtime, key)
    after = await _ask(lease)
    lease.release(201)
    # The lease reaches the new process, on its own port (not the dead one's origin).
    assert after["instance"] != before["instance"]
    assert after["port"] == str(lease.origin.port)


async def test_a_retiring_pool_lends_nothing_and_waits_for_its_lent_slots(
    runtime: ContainerRuntime,
) -> None:
    key = await _warmed(runtime, concurrency=2)
    lend = runtime.lessor(key)
    assert lend is not None
    lease = lend()
    assert isinstance(lease, ContainerLease)
    retiring = asyncio.ensure_future(runtime.retire(key))
    await eventually(lambda: runtime.lessor(key) is None, what="the pool's retirement")
    assert lend() is None  # a free slot is left, but the pool is retiring
    assert not retiring.done()
    assert (await _ask(lease))["path"] == "/lent"  # still served while it drains
    lease.release(201)
    await asyncio.wait_for(retiring, 10)
