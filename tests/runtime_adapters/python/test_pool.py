"""Pools: scaling up under load, the bounded queue, scaling down, retiring, stem cells."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from runtime_adapters.base import PoolSaturated, PoolSpec, RevisionUnknown
from runtime_adapters.python import PythonRuntime

from .conftest import MakeRuntime, eventually, http, json_body, spec


async def test_busy_instances_make_the_pool_grow_to_max(runtime: PythonRuntime) -> None:
    described = spec("main.sleep", concurrency=1, pool=PoolSpec(min=1, max=3))
    await runtime.warm(described)
    calls = asyncio.gather(*(runtime.invoke(described.key, http(query=b"s=0.5")) for _ in range(3)))
    # Three busy at once is the proof they ran side by side; a wall-clock bound would also
    # count two cold starts, which a loaded machine stretches past the calls themselves.
    await eventually(lambda: runtime.status()[0].busy == 3, what="three busy instances")
    results = await calls
    assert len({json_body(r)["worker"] for r in results}) == 3
    (status,) = runtime.status()
    assert (status.instances, status.busy, status.starting) == (3, 0, 0)
    assert status.cold_starts == 3  # the warm-up's one, then two for the queue


@pytest.mark.parametrize("bound_by", ["pool.queue", "runtime queue_limit"])
async def test_full_queue_is_pool_saturated(make_runtime: MakeRuntime, bound_by: str) -> None:
    if bound_by == "pool.queue":
        runtime = await make_runtime()
        pool = PoolSpec(min=1, max=1, queue=1)
    else:
        runtime = await make_runtime(queue_limit=1)
        pool = PoolSpec(min=1, max=1, queue=100)
    described = spec("main.sleep", concurrency=1, pool=pool)
    await runtime.warm(described)
    running = asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=0.5")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the first call to run")
    queued = asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=0")))
    await eventually(lambda: runtime.status()[0].queued == 1, what="the second call to queue")
    with pytest.raises(PoolSaturated) as caught:
        await runtime.invoke(described.key, http(query=b"s=0"))
    assert caught.value.retry_after_s >= 1
    assert caught.value.reason == "queue_full"
    assert (await running).status == 200
    assert (await queued).status == 200


async def test_an_invocation_that_cannot_start_before_its_deadline_is_shed_at_once(
    runtime: PythonRuntime,
) -> None:
    # One slot, 0.3 s per call, 0.75 s to start: a caller with n queued ahead expects to
    # wait (n + 1) x 0.3 s, so two may queue behind a running one (0.3 s and 0.6 s) and a
    # third would wait past its deadline (0.9 s). The margins hold while a loaded machine
    # stretches a call to up to 0.375 s.
    described = spec("main.sleep", concurrency=1, pool=PoolSpec(min=1, max=1, queue_timeout_s=0.75))
    await runtime.warm(described)
    assert (await runtime.invoke(described.key, http(query=b"s=0.3"))).status == 200
    calls = [asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=0.3")))]
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the first call to run")
    for queued in (1, 2):
        calls.append(asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=0.3"))))
        await eventually(
            lambda n=queued: runtime.status()[0].queued == n,  # type: ignore[misc]
            what=f"{queued} queued",
        )
    started = time.monotonic()
    with pytest.raises(PoolSaturated) as caught:
        await runtime.invoke(described.key, http(query=b"s=0.3"))
    assert time.monotonic() - started < 0.1, "shed on arrival, not after waiting"
    assert caught.value.reason == "expected_wait"
    assert caught.value.status == 503
    # 3 x 0.3 s of queue ahead against a 0.75 s deadline: retry in about 1 s.
    assert 1 <= caught.value.retry_after_s <= 2
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert [getattr(r, "status", r) for r in results[:3]] == [200, 200, 200]


async def test_an_invocation_queued_past_its_deadline_is_a_503_not_a_504(
    runtime: PythonRuntime,
) -> None:
    described = spec(
        "main.sleep",
        concurrency=1,
        timeout_s=5.0,
        pool=PoolSpec(min=1, max=1, queue_timeout_s=0.3),
    )
    await runtime.warm(described)
    # Nothing has finished yet, so nothing predicts the wait: the call queues.
    running = asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=1")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the first call to run")
    started = time.monotonic()
    with pytest.raises(PoolSaturated) as caught:
        await runtime.invoke(described.key, http(query=b"s=0"))
    waited = time.monotonic() - started
    assert caught.value.reason == "deadline"
    assert 0.25 <= waited < 0.9, waited
    assert runtime.status()[0].queued == 0
    assert (await running).status == 200


async def test_idle_instances_above_min_are_stopped(runtime: PythonRuntime) -> None:
    described = spec("main.sleep", concurrency=1, pool=PoolSpec(min=1, max=3, idle_s=0.3))
    await runtime.warm(described)
    await asyncio.gather(*(runtime.invoke(described.key, http(query=b"s=0.3")) for _ in range(3)))
    assert runtime.status()[0].instances == 3
    await eventually(lambda: runtime.status()[0].instances == 1, what="scale-down to min")
    assert (await runtime.invoke(described.key, http(query=b"s=0"))).status == 200


async def test_retire_lets_in_flight_work_finish_then_forgets_the_revision(
    runtime: PythonRuntime,
) -> None:
    described = spec("main.sleep")
    await runtime.warm(described)
    running = asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=0.3")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the call to run")
    await runtime.retire(described.key)
    assert (await running).status == 200
    assert runtime.status() == []
    assert runtime.instances(described.key) == []
    with pytest.raises(RevisionUnknown):
        await runtime.invoke(described.key, http())


async def test_min_instances_are_started(runtime: PythonRuntime) -> None:
    described = spec("main.hello", pool=PoolSpec(min=3, max=4))
    await runtime.warm(described)
    (warming,) = runtime.status()
    assert (warming.instances, warming.ready, warming.starting) == (3, 1, 2)
    await eventually(lambda: runtime.status()[0].ready == 3, what="three ready instances")
    (status,) = runtime.status()
    assert (status.starting, status.cold_starts) == (0, 3)


async def test_first_invocation_uses_a_stem_cell(runtime: PythonRuntime) -> None:
    await runtime.spares_ready()
    started = time.monotonic()
    await runtime.warm(spec("main.hello"))
    await runtime.invoke(spec().key, http())
    elapsed = time.monotonic() - started
    (instance,) = runtime.instances(spec().key)
    assert instance.name == "kit@1#1"  # the first worker this runtime launched: the spare
    # Booting a worker from nothing takes ~100 ms here; a stem cell needs a few ms.
    assert elapsed < 0.5, f"first invocation took {elapsed * 1000:.0f} ms"
    await runtime.spares_ready()  # the taken spare is replaced in the background
    await runtime.warm(spec("main.hello", revision=2))
    assert (await runtime.invoke(spec(revision=2).key, http())).status == 200


async def test_aclose_stops_every_worker(make_runtime: MakeRuntime) -> None:
    runtime = await make_runtime()
    described = spec("main.hello", pool=PoolSpec(min=2, max=2))
    await runtime.warm(described)
    await eventually(lambda: len(runtime.instances(described.key)) == 2, what="two instances")
    pids = [i.pid for i in runtime.instances(described.key)]
    await asyncio.wait_for(runtime.aclose(), 10)
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_slots_of_dead_gateway_processes_are_removed(
    make_runtime: MakeRuntime, tmp_path: Path
) -> None:
    finished = await asyncio.create_subprocess_exec("true")
    await finished.wait()
    slots = tmp_path / "state0" / "slots"  # make_runtime's first state dir
    stale = slots / str(finished.pid)
    (stale / "1").mkdir(parents=True)
    live = slots / "1"  # pid 1 is alive
    live.mkdir()
    await make_runtime()
    assert not stale.exists()
    assert live.exists()
