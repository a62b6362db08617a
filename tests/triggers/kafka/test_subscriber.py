"""KafkaSubscriber against a real broker (tansu), with the function replaced by a
recording Dispatch: ordering, commits, retries, dead letters, batches, rebalances."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from runtime_adapters.base import InvocationResult
from runtime_adapters.python.events import CloudEvent as HandlerEvent
from tests.brokers.tansu import Tansu
from tests.integration.harness import free_port
from tests.triggers.kafka.kit import new_topic, produce, read, topic_name
from tests.triggers.kit import FakeDispatch, eventually, ok
from triggers.base import CloudEvent
from triggers.kafka.config import Batching, KafkaTriggerConfig
from triggers.kafka.subscriber import KafkaSubscriber


def config(tansu: Tansu, topic: str, **overrides: Any) -> KafkaTriggerConfig:
    settings: dict[str, Any] = {
        "brokers": (tansu.bootstrap,),
        "topics": (topic,),
        "start": "earliest",
        "session_timeout_s": 2.0,
        "backoff": {"initial": 0.01, "max": 0.05},
        **overrides,
    }
    return KafkaTriggerConfig(**settings)


@asynccontextmanager
async def running(
    cfg: KafkaTriggerConfig,
    dispatch: FakeDispatch,
    *,
    drain_timeout_s: float = 5.0,
    commit_interval_s: float = 0.05,
) -> AsyncIterator[KafkaSubscriber]:
    subscriber = KafkaSubscriber(
        trigger_id="fn/kafka/0",
        function="fn",
        config=cfg,
        dispatch=dispatch,
        drain_timeout_s=drain_timeout_s,
        commit_interval_s=commit_interval_s,
    )
    await subscriber.start()
    try:
        yield subscriber
    finally:
        await subscriber.stop(timeout_s=drain_timeout_s)


def committed(subscriber: KafkaSubscriber, partition: int = 0) -> int | None:
    for state in subscriber.state().partitions:
        if state["partition"] == partition:
            return state["committed"]  # type: ignore[no-any-return]
    return None


async def test_a_record_arrives_as_a_cloudevent(tansu: Tansu) -> None:
    topic = await new_topic(tansu.bootstrap, "events")
    await produce(
        tansu.bootstrap,
        topic,
        [(b"order-7", b'{"total": 12}')],
        headers=[("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
    )
    await produce(tansu.bootstrap, topic, [(None, b"\x00plain bytes")])
    dispatch = FakeDispatch()
    async with running(config(tansu, topic), dispatch):
        await eventually(lambda: len(dispatch.events) == 2, what="both records")
    first, second = dispatch.events
    assert first["specversion"] == "1.0"
    assert first["id"] == f"{topic}/0/0"
    assert first["type"] == "dev.gaia.kafka.message"
    assert first["source"] == f"kafka://{tansu.bootstrap}/{topic}"
    assert (first["topic"], first["partition"], first.offset) == (topic, 0, 0)
    assert first.key == "order-7" and first["partitionkey"] == "order-7"
    assert "offset" not in first and "key" not in first and "headers" not in first
    assert first["data"] == {"total": 12}
    assert first["datacontenttype"] == "application/json"
    assert first["traceparent"].startswith("00-0af7651916cd43dd")
    assert str(first["time"]).endswith("Z")
    assert second["data"] == b"\x00plain bytes"
    assert second["datacontenttype"] == "application/octet-stream"
    assert "key" not in second


async def test_records_of_a_key_run_in_order_while_keys_run_in_parallel(tansu: Tansu) -> None:
    topic = await new_topic(tansu.bootstrap, "keyed", partitions=2)
    keys = [f"k{n}" for n in range(8)]
    messages = [(key.encode(), str(seq).encode()) for seq in range(25) for key in keys]
    await produce(tansu.bootstrap, topic, messages)

    async def slow(event: CloudEvent) -> InvocationResult:
        await asyncio.sleep(random.uniform(0, 0.004))
        return ok()

    dispatch = FakeDispatch(answer=slow)
    async with running(config(tansu, topic, ordering="key", max_in_flight=16), dispatch):
        await eventually(lambda: len(dispatch.events) >= len(messages), what="every record")
    seen: dict[str, list[int]] = {key: [] for key in keys}
    for event in dispatch.events:
        seen[str(event.key)].append(int(event["data"]))
    assert all(seqs == list(range(25)) for seqs in seen.values()), seen
    assert dispatch.most_running > 1, "keys should run in parallel"


async def test_a_poison_record_is_retried_then_dead_lettered_and_the_partition_moves_on(
    tansu: Tansu,
) -> None:
    topic, dead = await new_topic(tansu.bootstrap, "poison"), topic_name("poison-dlq")
    messages = [(f"k{n}".encode(), b"poison" if n == 3 else b"fine") for n in range(10)]
    await produce(tansu.bootstrap, topic, messages, headers=[("origin", b"test")])

    async def answer(event: CloudEvent) -> InvocationResult:
        if event["data"] == b"poison":
            raise ValueError("cannot digest poison")
        return ok()

    dispatch = FakeDispatch(answer=answer, revision="fn@4")
    async with running(config(tansu, topic, retries=2, dead_letter=dead), dispatch) as sub:
        await eventually(lambda: committed(sub) == 10, what="the commit past every record")
        state = sub.state()
    [record] = await read(tansu.bootstrap, dead, count=1)
    headers = {name: value.decode() for name, value in record.headers}
    assert (record.key, record.value) == (b"k3", b"poison")
    assert "cannot digest poison" in headers["gaia-error"]
    assert headers["gaia-attempts"] == "3"
    assert headers["gaia-revision"] == "fn@4"
    assert (headers["gaia-topic"], headers["gaia-partition"], headers["gaia-offset"]) == (
        topic,
        "0",
        "3",
    )
    assert headers["origin"] == "test"  # the record's own headers travel with it
    assert dispatch.ids().count(f"{topic}/0/3") == 3
    assert (state.processed, state.retried, state.dead_lettered) == (9, 2, 1)
    # In order, even around the retries: nothing after the poison ran before it was done.
    assert [event.offset for event in dispatch.events] == [0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9]


async def test_ordered_partitions_go_to_the_function_in_runs(tansu: Tansu) -> None:
    topic = await new_topic(tansu.bootstrap, "runs", partitions=2)
    await produce(tansu.bootstrap, topic, [(f"k{n}".encode(), str(n).encode()) for n in range(400)])
    dispatch = FakeDispatch()
    async with running(config(tansu, topic), dispatch) as sub:
        await eventually(lambda: sub.state().processed == 400, what="every record")
    assert max(dispatch.runs) > 1, "fetched records of a partition run together"
    for partition in (0, 1):
        offsets = [e.offset for e in dispatch.events if e["partition"] == partition]
        assert offsets == sorted(offsets) and len(offsets) == len(set(offsets))


async def test_a_backlog_on_one_partition_leaves_room_for_the_others(tansu: Tansu) -> None:
    """6,000 records wait on partition 0 (more than the whole fetch buffer) behind a run
    that does not finish; records arriving on partition 1 are still fetched and run."""
    topic = await new_topic(tansu.bootstrap, "backlog", partitions=2)
    await produce(tansu.bootstrap, topic, [(None, b"0")] * 6000, partition=0)
    release = asyncio.Event()

    async def partition_0_waits(event: CloudEvent) -> InvocationResult:
        if event["partition"] == 0:
            await release.wait()
        return ok()

    dispatch = FakeDispatch(answer=partition_0_waits)
    async with running(config(tansu, topic), dispatch) as sub:
        await eventually(lambda: dispatch.running == 1, what="partition 0's first run")
        await produce(tansu.bootstrap, topic, [(None, b"1")] * 10, partition=1)
        await eventually(
            lambda: sum(1 for e in dispatch.events if e["partition"] == 1) == 10,
            what="partition 1's records, while partition 0 is held up",
        )
        release.set()
        await eventually(lambda: sub.state().processed == 6010, what="every record")


async def test_a_burst_is_committed_when_it_is_done_not_at_the_next_interval(
    tansu: Tansu,
) -> None:
    topic = await new_topic(tansu.bootstrap, "burst", partitions=2)
    await produce(tansu.bootstrap, topic, [(f"k{n}".encode(), b"{}") for n in range(50)])
    for ordering in ("partition", "key"):
        dispatch = FakeDispatch()
        cfg = config(tansu, topic, ordering=ordering, group=f"burst-{ordering}")
        async with running(cfg, dispatch, commit_interval_s=600) as sub:
            await eventually(
                lambda: sum(committed(sub, p) or 0 for p in (0, 1)) == 50,
                within=10,
                what=f"the burst committed (ordering {ordering})",
            )


async def test_nothing_is_committed_past_a_record_still_running(tansu: Tansu) -> None:
    topic = await new_topic(tansu.bootstrap, "window")
    await produce(tansu.bootstrap, topic, [(None, str(n).encode()) for n in range(10)])
    release = asyncio.Event()

    async def first_blocks(event: HandlerEvent) -> InvocationResult:
        if event.offset == 0:
            await release.wait()
        return ok()

    cfg = config(tansu, topic, ordering="none", max_in_flight=10)
    dispatch = FakeDispatch(answer=first_blocks)
    async with running(cfg, dispatch, drain_timeout_s=0.1) as sub:
        await eventually(lambda: sub.state().processed == 9, what="records 1-9")
    # Stopped with record 0 unfinished: a new member of the group must get it again.
    again = FakeDispatch()
    async with running(cfg, again):
        await eventually(lambda: len(again.events) == 10, what="all ten again")
    assert again.events[0].offset == 0
    release.set()


async def test_each_answer_is_produced_to_the_response_topic_with_the_same_key(
    tansu: Tansu,
) -> None:
    topic, answers = await new_topic(tansu.bootstrap, "ask"), topic_name("answers")
    await produce(tansu.bootstrap, topic, [(f"k{n}".encode(), str(n).encode()) for n in range(3)])

    async def double(event: CloudEvent) -> InvocationResult:
        body = json.dumps({"double": 2 * int(event["data"])}).encode()
        return InvocationResult(
            status=200, headers=[(b"content-type", b"application/json")], body=body
        )

    dispatch = FakeDispatch(answer=double)
    async with running(config(tansu, topic, response_topic=answers), dispatch) as sub:
        records = await read(tansu.bootstrap, answers, count=3)
        await eventually(lambda: committed(sub) == 3, what="the commit")
    assert [(r.key, json.loads(r.value)) for r in records] == [
        (b"k0", {"double": 0}),
        (b"k1", {"double": 2}),
        (b"k2", {"double": 4}),
    ]
    assert dict(records[0].headers)["gaia-source-id"] == f"{topic}/0/0".encode()


async def test_a_batch_handler_reports_failed_items_and_only_those_are_retried(
    tansu: Tansu,
) -> None:
    topic, dead = await new_topic(tansu.bootstrap, "batch"), topic_name("batch-dlq")
    values = [b"bad" if n in (2, 7) else b"good" for n in range(10)]
    await produce(tansu.bootstrap, topic, [(None, value) for value in values])

    async def report(event: CloudEvent) -> InvocationResult:
        failed = [item["id"] for item in event["data"] if item["data"] == b"bad"]
        return InvocationResult(
            status=200, headers=[], body=json.dumps({"failed": failed}).encode()
        )

    cfg = config(tansu, topic, batch=Batching(size=5, window_s=0.05), retries=1, dead_letter=dead)
    dispatch = FakeDispatch(answer=report)
    async with running(cfg, dispatch) as sub:
        await eventually(lambda: committed(sub) == 10, what="the commit past the batches")
        state = sub.state()
        # Ten records made two full batches: no batch window is left open, so the idle
        # trigger waits for records (a zero-timeout fetch loop would starve the gateway).
        assert sub._fetch_timeout_ms() == 200
    dead_records = await read(tansu.bootstrap, dead, count=2)
    assert sorted(dict(r.headers)["gaia-offset"] for r in dead_records) == [b"2", b"7"]
    assert all(event["type"] == "dev.gaia.kafka.batch" for event in dispatch.events)
    retried = [event for event in dispatch.events if len(event["data"]) == 1]
    assert sorted(event["data"][0].offset for event in retried) == [2, 7]
    assert (state.processed, state.dead_lettered, state.retried) == (8, 2, 2)


async def test_a_record_that_cannot_be_dead_lettered_stops_only_its_partition(
    tansu: Tansu,
) -> None:
    topic = await new_topic(tansu.bootstrap, "stuck", partitions=2)
    await produce(
        tansu.bootstrap, topic, [(None, b"ok"), (None, b"poison"), (None, b"ok")], partition=0
    )
    await produce(tansu.bootstrap, topic, [(None, b"ok")] * 3, partition=1)
    healed = False

    async def answer(event: CloudEvent) -> InvocationResult:
        if event["data"] == b"poison" and not healed:
            raise ValueError("still poisoned")
        return ok()

    dispatch = FakeDispatch(answer=answer)
    cfg = config(tansu, topic, retries=1, backoff={"initial": 0.01, "max": 0.3})  # no dead letter
    async with running(cfg, dispatch) as sub:
        stuck = await eventually(
            lambda: [p for p in sub.state().partitions if p["stuck"]], what="a stuck partition"
        )
        await eventually(lambda: committed(sub, 1) == 3, what="partition 1 to move on")
        assert [(p["partition"], p["stuck"]["offset"]) for p in stuck] == [(0, 1)]
        assert "still poisoned" in stuck[0]["stuck"]["error"]
        assert committed(sub, 0) in (None, 1)  # never past the stuck record
        assert f"{topic}/0/2" not in dispatch.ids()
        healed = True
        await eventually(lambda: committed(sub, 0) == 3, what="partition 0 after healing")
        assert sub.state().stuck == 0
    assert f"{topic}/0/2" in dispatch.ids()


async def test_a_second_member_takes_partitions_over_without_duplicates(tansu: Tansu) -> None:
    topic = await new_topic(tansu.bootstrap, "shared", partitions=4)
    first_half = [(f"k{n}".encode(), b"x") for n in range(200)]
    await produce(tansu.bootstrap, topic, first_half)
    cfg = config(tansu, topic)
    one, two = FakeDispatch(), FakeDispatch()
    async with running(cfg, one) as a:
        await eventually(lambda: len(one.events) >= 200, what="the first member to catch up")
        async with running(cfg, two) as b:
            await eventually(
                lambda: a.state().partitions and b.state().partitions,
                what="both members to hold partitions",
            )
            await produce(tansu.bootstrap, topic, [(f"k{n}".encode(), b"y") for n in range(200)])
            await eventually(
                lambda: len(set(one.ids()) | set(two.ids())) == 400, what="all 400 records"
            )
            held_a = {p["partition"] for p in a.state().partitions}
            held_b = {p["partition"] for p in b.state().partitions}
    assert held_a.isdisjoint(held_b) and held_a | held_b == {0, 1, 2, 3}
    assert len(one.events) + len(two.events) == 400, "a graceful handover repeats nothing"


async def test_an_unreachable_broker_is_retried_and_shown_and_stop_is_prompt() -> None:
    closed = f"127.0.0.1:{free_port()}"
    cfg = KafkaTriggerConfig(brokers=(closed,), topics=("orders",), session_timeout_s=2.0)
    dispatch = FakeDispatch()
    async with running(cfg, dispatch) as sub:
        state = await eventually(
            lambda: s if (s := sub.state()).status == "connecting" else None, what="connecting"
        )
        assert state.error and state.partitions == []
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert sub.state().status == "stopped" and dispatch.events == []
