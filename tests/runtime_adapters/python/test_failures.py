"""Timeouts, dead workers and memory limits: only the affected invocations fail."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from runtime_adapters.base import InstanceLost, InvocationTimeout, PoolSpec
from runtime_adapters.python import PythonRuntime

from .conftest import eventually, http, json_body, spec


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_timeout_fails_the_call_drains_the_instance_and_the_pool_still_serves(
    runtime: PythonRuntime,
) -> None:
    described = spec("main.sleep", timeout_s=0.3, pool=PoolSpec(min=1, max=2))
    await runtime.warm(described)
    (stuck,) = runtime.instances(described.key)
    stuck_pid = stuck.pid
    assert stuck_pid is not None
    with pytest.raises(InvocationTimeout, match=r"within 0\.3s"):
        await runtime.invoke(described.key, http(query=b"s=30"))
    # The stuck worker (its sync handler cannot be interrupted) is killed and replaced.
    await eventually(lambda: not alive(stuck_pid), what="the timed-out worker to be killed")
    result = await runtime.invoke(described.key, http(query=b"s=0"))
    assert result.status == 200
    (fresh,) = runtime.instances(described.key)
    assert fresh.name != stuck.name


async def test_timeout_lets_the_instances_other_invocations_finish(
    runtime: PythonRuntime,
) -> None:
    described = spec("main.sleep", timeout_s=1.0, concurrency=2, pool=PoolSpec(min=1, max=1))
    await runtime.warm(described)
    (first,) = runtime.instances(described.key)
    slow = asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=30")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the slow call to start")
    await asyncio.sleep(0.5)
    finishing = asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=0.7")))
    with pytest.raises(InvocationTimeout):
        await slow
    # draining: the other invocation still completes on the old worker
    assert (await finishing).status == 200
    first_pid = first.pid
    assert first_pid is not None
    await eventually(lambda: not alive(first_pid), what="the drained worker to be killed")
    assert (await runtime.invoke(described.key, http(query=b"s=0"))).status == 200


async def test_sigkilled_worker_fails_only_its_invocation_and_is_replaced(
    runtime: PythonRuntime,
) -> None:
    described = spec("main.sleep", concurrency=1, pool=PoolSpec(min=2, max=2))
    await runtime.warm(described)
    await eventually(lambda: len(runtime.instances(described.key)) == 2, what="two instances")
    calls = [
        asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=1", request_id=str(i))))
        for i in range(2)
    ]
    await eventually(
        lambda: all(i.in_flight == 1 for i in runtime.instances(described.key)),
        what="one call on each instance",
    )
    victim, survivor = runtime.instances(described.key)
    assert victim.pid is not None
    os.kill(victim.pid, signal.SIGKILL)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    lost = [o for o in outcomes if isinstance(o, InstanceLost)]
    served = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(lost) == 1 and len(served) == 1, outcomes
    assert "worker killed by SIGKILL" in lost[0].message
    assert served[0].status == 200
    await eventually(
        lambda: (
            len(runtime.instances(described.key)) == 2
            and victim.name not in {i.name for i in runtime.instances(described.key)}
        ),
        what="the killed worker to be replaced",
    )
    assert survivor.name in {i.name for i in runtime.instances(described.key)}


async def test_worker_exit_code_is_the_reason(runtime: PythonRuntime) -> None:
    await runtime.warm(spec("main.exit3"))
    with pytest.raises(InstanceLost, match="worker exited with code 3"):
        await runtime.invoke(spec().key, http())


async def test_memory_hog_loses_its_instance_and_the_next_call_works(
    runtime: PythonRuntime,
) -> None:
    hog = spec("main.hog", memory_bytes=128 * 1024 * 1024, pool=PoolSpec(min=1, max=1))
    await runtime.warm(hog)
    first = json_body(await runtime.invoke(hog.key, http(query=b"mib=64")))
    with pytest.raises(InstanceLost, match=r"memory limit \(128Mi\) exceeded"):
        await runtime.invoke(hog.key, http(query=b"mib=1024"))
    after = json_body(await runtime.invoke(hog.key, http(query=b"mib=64")))
    assert after["allocated_mib"] == 64
    assert after["worker"] != first["worker"]  # served by the replacement


async def test_default_memory_limit_still_runs_threads(runtime: PythonRuntime) -> None:
    described = spec("main.threads", concurrency=8)
    await runtime.warm(described)
    results = await asyncio.gather(*(runtime.invoke(described.key, http()) for _ in range(8)))
    assert [json_body(r) for r in results] == [{"threads": 4}] * 8
