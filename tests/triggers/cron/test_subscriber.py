"""CronSubscriber: ticks become runs with CloudEvents; misfires, coalescing, overlap;
replicas sharing a real Redis run each tick once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as redis

from runtime_adapters.base import InvocationResult
from tests.brokers.redis import RedisServer
from tests.triggers.kit import FakeDispatch, eventually, ok
from tests.triggers.nats.kit import unique
from triggers.base import CloudEvent, SharedRedis, TriggerContext
from triggers.cron.config import CronTriggerConfig
from triggers.cron.ledger import Ledger, LocalLedger, RedisLedger
from triggers.cron.subscriber import CronSubscriber, build


def subscriber(
    dispatch: FakeDispatch,
    *,
    ledger: Ledger | None = None,
    replica: str = "r1",
    trigger_id: str = "fn/cron/0",
    **keys: Any,
) -> CronSubscriber:
    config = CronTriggerConfig(
        **{"schedule": "* * * * * *", "backoff": {"initial": 0.01, "max": 0.05}, **keys}
    )
    return CronSubscriber(
        trigger_id=trigger_id,
        function="fn",
        config=config,
        dispatch=dispatch,
        replica=replica,
        ledger=ledger or LocalLedger(),
    )


@asynccontextmanager
async def running(*subs: CronSubscriber) -> AsyncIterator[None]:
    for sub in subs:
        await sub.start()
    try:
        yield
    finally:
        for sub in subs:
            await sub.stop(timeout_s=5)


async def settle(sub: CronSubscriber) -> None:
    await eventually(lambda: not sub._runs, what="the runs to finish")


def at(second: int) -> datetime:
    return datetime(2026, 11, 27, 12, 0, second, tzinfo=UTC)


async def test_each_tick_runs_with_its_scheduled_time_and_a_stable_run_id() -> None:
    dispatch = FakeDispatch()
    sub = subscriber(dispatch, payload={"kind": "report"})
    async with running(sub):
        await eventually(lambda: len(dispatch.events) >= 2, within=5, what="two ticks")
    first, second = dispatch.events[:2]
    assert first["type"] == "dev.gaia.cron.tick" and first["data"] == {"kind": "report"}
    assert first["id"] == f"fn/cron/0@{first['time']}"
    scheduled = [
        datetime.fromisoformat(str(e["time"]).replace("Z", "+00:00")) for e in (first, second)
    ]
    assert scheduled[1] - scheduled[0] == timedelta(seconds=1)
    assert all(t.microsecond == 0 for t in scheduled), "ticks fall on whole seconds"
    [latest, *_] = await sub.history(limit=5)
    assert latest["outcome"] == "succeeded" and latest["replica"] == "r1"


async def test_a_failed_run_is_retried_under_the_same_run_id_and_recorded() -> None:
    async def fail(event: CloudEvent) -> InvocationResult:
        raise ValueError("report server down")

    dispatch = FakeDispatch(answer=fail)
    sub = subscriber(dispatch, schedule="@every 1h", retries=2)
    sub._start_runs([at(0)], at(0))
    await settle(sub)
    assert len(dispatch.events) == 3 and len({e["id"] for e in dispatch.events}) == 1
    [run] = await sub.history(limit=5)
    assert run["outcome"] == "failed" and run["attempts"] == 3
    assert "report server down" in run["error"]


async def test_ticks_noticed_after_the_grace_are_missed_and_several_on_time_coalesce() -> None:
    dispatch = FakeDispatch()
    sub = subscriber(dispatch, misfire_grace_s=2.0, coalesce=True)
    # The loop was stalled: it wakes at :10 with ticks :05 to :10 due.
    sub._start_runs([at(s) for s in range(5, 11)], at(10))
    await settle(sub)
    runs = {run["scheduled"]: run["outcome"] for run in await sub.history(limit=10)}
    assert runs[at(10).timestamp()] == "succeeded"
    assert [runs[at(s).timestamp()] for s in range(5, 10)] == ["missed"] * 5
    assert len(dispatch.events) == 1


async def test_without_coalesce_every_tick_within_the_grace_runs() -> None:
    dispatch = FakeDispatch()
    sub = subscriber(dispatch, misfire_grace_s=2.0, coalesce=False)
    sub._start_runs([at(s) for s in range(5, 11)], at(10))
    await settle(sub)
    runs = {run["scheduled"]: run["outcome"] for run in await sub.history(limit=10)}
    assert [runs[at(s).timestamp()] for s in range(5, 11)] == ["missed"] * 3 + ["succeeded"] * 3
    assert sorted(e["time"] for e in dispatch.events) == [
        "2026-11-27T12:00:08.000Z",
        "2026-11-27T12:00:09.000Z",
        "2026-11-27T12:00:10.000Z",
    ]


@pytest.mark.parametrize(
    ("overlap", "expected", "still_going"),
    [("skip", ["succeeded", "skipped"], 1), ("allow", ["succeeded", "succeeded"], 2)],
)
async def test_overlap_skip_skips_a_tick_while_the_previous_run_goes_on_and_allow_runs_it(
    overlap: str, expected: list[str], still_going: int
) -> None:
    release = asyncio.Event()

    async def slow(event: CloudEvent) -> InvocationResult:
        await release.wait()
        return ok()

    dispatch = FakeDispatch(answer=slow)
    sub = subscriber(dispatch, schedule="@every 1h", overlap=overlap)
    sub._start_runs([at(0)], at(0))
    await eventually(lambda: dispatch.running == 1, what="the first run")
    sub._start_runs([at(1)], at(1))
    await eventually(lambda: len(sub._runs) == still_going, what="the second tick")
    release.set()
    await settle(sub)
    outcomes = [run["outcome"] for run in reversed(await sub.history(limit=5))]
    assert outcomes == expected


async def test_overlap_queue_runs_the_next_tick_after_the_previous_one() -> None:
    release = asyncio.Event()

    async def slow(event: CloudEvent) -> InvocationResult:
        if event["time"].endswith(":00.000Z"):
            await release.wait()
        return ok()

    dispatch = FakeDispatch(answer=slow)
    sub = subscriber(dispatch, schedule="@every 1h", overlap="queue")
    sub._start_runs([at(0)], at(0))
    await eventually(lambda: dispatch.running == 1, what="the first run")
    sub._start_runs([at(1)], at(1))
    await asyncio.sleep(0)  # the queued tick is waiting, not running
    assert len(dispatch.events) == 1
    release.set()
    await settle(sub)
    assert [e["time"][-10:] for e in dispatch.events] == ["00:00.000Z", "00:01.000Z"]
    assert dispatch.most_running == 1


async def test_replicas_sharing_redis_run_each_tick_exactly_once(
    redis_server: RedisServer,
) -> None:
    trigger_id = unique("fn/cron/")
    dispatches = [FakeDispatch() for _ in range(3)]
    subs = [
        subscriber(
            dispatch,
            ledger=RedisLedger(redis_server.url),
            replica=f"r{n}",
            trigger_id=trigger_id,
        )
        for n, dispatch in enumerate(dispatches)
    ]
    async with running(*subs):
        await eventually(
            lambda: sum(len(d.events) for d in dispatches) >= 4, within=8, what="four ticks"
        )
        history = await subs[0].history(limit=100)
    ticks = [event["time"] for d in dispatches for event in d.events]
    assert len(ticks) == len(set(ticks)), "no tick ran on two replicas"
    recorded = [run["scheduled"] for run in history]
    assert len(recorded) == len(set(recorded))
    assert {run["replica"] for run in history} <= {"r0", "r1", "r2"}


async def test_in_cluster_mode_the_stores_redis_is_the_lease_unless_the_trigger_names_one(
    redis_server: RedisServer,
) -> None:
    """`build` as the gateway calls it: a trigger without `lease` claims its ticks in the
    store's Redis under the store's prefix; one with `lease` in its own; a gateway on the
    embedded store (no shared Redis) keeps them in memory."""
    prefix = unique("store")
    shared = SharedRedis(url=redis_server.url, prefix=prefix)

    def built(shared_redis: SharedRedis | None, **keys: Any) -> CronSubscriber:
        config = CronTriggerConfig(**{"schedule": "* * * * * *", **keys})
        context = TriggerContext(
            trigger_id=unique("fn/cron/"),
            function="fn",
            dispatch=FakeDispatch(),
            drain_timeout_s=1,
            replica="r1",
            shared_redis=shared_redis,
        )
        return build(config, context)

    alone = built(None)
    assert alone.state().lease == "local"
    clustered = built(shared)
    assert clustered.state().lease == "redis"
    own = built(shared, lease=redis_server.url)
    assert own.state().lease == "redis"
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        async with running(clustered, own):
            await eventually(
                lambda: clustered._counts["succeeded"] and own._counts["succeeded"],
                within=8,
                what="a run of each",
            )
        keys = {str(key) for key in await client.keys("*")}
    finally:
        await client.aclose()
    assert any(key.startswith(f"{prefix}:cron:{clustered.trigger_id}:") for key in keys)
    assert any(key.startswith(f"gaia:cron:{own.trigger_id}:") for key in keys)
    assert not any(own.trigger_id in key for key in keys if key.startswith(prefix))
    await alone._ledger.aclose()
