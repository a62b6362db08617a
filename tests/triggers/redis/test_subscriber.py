"""RedisSubscriber against a real redis-server, with the function replaced by a
recording Dispatch: events, the group, retries, dead letters, answers, stuck entries,
ordering, takeover of a dead consumer's entries, graceful stop and state."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

from runtime_adapters.base import InvocationResult
from tests.brokers.redis import RedisServer
from tests.integration.harness import free_port
from tests.triggers.kit import FakeDispatch, eventually, ok
from tests.triggers.redis.kit import add, config, connected, entries, pending, running, unique
from triggers.base import CloudEvent
from triggers.events import iso_time_ms
from triggers.redis.config import RedisTriggerConfig
from triggers.redis.subscriber import RedisSubscriber, claim_every


def failing_on(bad: object) -> Any:
    async def answer(event: CloudEvent) -> InvocationResult:
        if event["data"] == bad:
            raise ValueError(f"cannot take {bad!r}")
        return ok(json.dumps({"got": event["data"]}).encode())

    return answer


async def test_entries_arrive_as_cloudevents(redis_server: RedisServer) -> None:
    stream = unique("orders")
    dispatch = FakeDispatch()
    async with connected(redis_server) as client:
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        first = await add(client, stream, {"data": b'{"total": 12}', "traceparent": parent})
        second = await add(client, stream, {"sku": "a-1", "qty": "2"})
        third = await add(client, stream, {"data": b"\x00raw", "note": b"\xff"})
        async with running(config(redis_server, stream), dispatch):
            await eventually(lambda: len(dispatch.events) == 3, what="three entries")
    one, two, three = dispatch.events
    first_id = first
    assert one["id"] == f"{stream}/{first_id}" and one["subject"] == first_id
    assert one["specversion"] == "1.0" and one["type"] == "dev.gaia.redis.message"
    assert one["source"] == f"redis://127.0.0.1:{redis_server.port}/0/{stream}"
    assert one["time"] == iso_time_ms(int(first_id.split("-")[0]))
    assert one["data"] == {"total": 12} and one["datacontenttype"] == "application/json"
    assert one["traceparent"] == parent and one["stream"] == stream
    assert two["id"] == f"{stream}/{second}"
    assert two["data"] == {"sku": "a-1", "qty": "2"}
    assert two["datacontenttype"] == "application/json"
    assert "traceparent" not in two
    assert three["id"] == f"{stream}/{third}"
    assert three["data"] == {"data": "\x00raw", "note": b"\xff"}
    assert "datacontenttype" not in three, "a map with bytes in it is not JSON"


async def test_the_group_defaults_to_the_function_and_the_consumer_to_the_replica(
    redis_server: RedisServer,
) -> None:
    stream = unique("named")
    dispatch = FakeDispatch()
    async with connected(redis_server) as client:
        await client.xadd(stream, {"data": "before"})
        cfg = config(redis_server, stream, start="latest")
        async with running(cfg, dispatch, replica="gateway a:8081") as sub:
            await client.xadd(stream, {"data": "after"})
            await eventually(lambda: dispatch.events, what="the entry added after the start")
            [group] = await client.xinfo_groups(stream)
            consumers = await client.xinfo_consumers(stream, "gaia-fn")
            state = await eventually(
                lambda: s if (s := sub.state()).processed == 1 and s.pending == 0 else None,
                what="processed and acknowledged",
            )
    assert [event["data"] for event in dispatch.events] == [b"after"], "start: latest"
    assert group["name"] == b"gaia-fn"
    assert [c["name"] for c in consumers] == [b"gateway a:8081"]
    assert state.ordering == "stream"
    assert (state.group, state.consumer, state.stream) == (
        "gaia-fn",
        "gateway a:8081",
        stream,
    )


async def test_start_earliest_reads_what_the_stream_held_before(redis_server: RedisServer) -> None:
    stream = unique("backlog")
    dispatch = FakeDispatch()
    async with connected(redis_server) as client:
        for n in range(5):
            await client.xadd(stream, {"data": str(n)})
        cfg = config(redis_server, stream, group="billing", consumer="c1")
        async with running(cfg, dispatch):
            await eventually(lambda: len(dispatch.events) == 5, what="the backlog")
        [group] = await client.xinfo_groups(stream)
    assert [event["data"] for event in dispatch.events] == [0, 1, 2, 3, 4]
    assert group["name"] == b"billing" and group["pending"] == 0


async def test_a_failing_entry_is_retried_then_dead_lettered_with_why(
    redis_server: RedisServer,
) -> None:
    stream, dead = unique("pay"), unique("pay-dlq")
    dispatch = FakeDispatch(answer=failing_on("poison"), revision="fn@3")
    cfg = config(redis_server, stream, retries=2, dead_letter=dead)
    async with connected(redis_server) as client:
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        bad = await add(client, stream, {"data": '"poison"', "traceparent": parent})
        await client.xadd(stream, {"data": '"fine"'})
        async with running(cfg, dispatch) as sub:
            state = await eventually(
                lambda: s if (s := sub.state()).dead_lettered == 1 and s.processed == 1 else None,
                what="one dead letter, one processed",
            )
            await eventually(lambda: sub.state().pending == 0, what="both acknowledged")
        [(_, letter)] = await entries(client, dead)
        assert await pending(client, stream, "gaia-fn") == 0
    assert letter[b"data"] == b'"poison"' and letter[b"traceparent"] == parent.encode()
    assert letter[b"gaia-attempts"] == b"3" and letter[b"gaia-revision"] == b"fn@3"
    assert letter[b"gaia-error-kind"] == b"FunctionFailed"
    assert b"cannot take 'poison'" in letter[b"gaia-error"]
    assert letter[b"gaia-trigger"] == b"fn/redis/0"
    assert letter[b"gaia-stream"] == stream.encode() and letter[b"gaia-entry"] == bad.encode()
    poison = [event for event in dispatch.events if event["data"] == "poison"]
    assert [event["id"] for event in poison] == [f"{stream}/{bad}"] * 3, "one id on every retry"
    assert state.retried == 2


async def test_an_answer_is_added_to_the_reply_stream_before_the_entry_is_acknowledged(
    redis_server: RedisServer,
) -> None:
    stream, replies = unique("ask"), unique("answers")

    async def answer(event: CloudEvent) -> InvocationResult:
        if event["data"] == "quiet":
            return ok()  # nothing to say: no answer entry
        body = json.dumps({"echo": event["data"]}).encode()
        return InvocationResult(
            status=200, headers=[(b"content-type", b"application/json")], body=body
        )

    dispatch = FakeDispatch(answer=answer)
    cfg = config(redis_server, stream, reply_stream=replies, retries=1)
    async with connected(redis_server) as client:
        await client.set(replies, "not a stream")  # answers cannot be added yet
        asked = await add(client, stream, {"data": '"hello"'})
        await client.xadd(stream, {"data": '"quiet"'})
        async with running(cfg, dispatch) as sub:
            stuck = await eventually(lambda: sub.state().stuck_entries, what="stuck")
            assert stuck[0].entry == asked and "WRONGTYPE" in stuck[0].error
            assert await pending(client, stream, "gaia-fn") >= 1, "not acknowledged"
            assert sub.state().processed == 0
            await client.delete(replies)
            await eventually(
                lambda: (s := sub.state()).processed == 2 and not s.stuck,
                what="both processed once answers can be added",
            )
            await eventually(lambda: sub.state().pending == 0, what="both acknowledged")
        [(_, reply)] = await entries(client, replies)
    assert json.loads(reply[b"data"]) == {"echo": "hello"}
    assert reply[b"ce_source_id"] == f"{stream}/{asked}".encode()
    assert reply[b"content-type"] == b"application/json"


async def test_an_entry_that_cannot_be_dead_lettered_stays_pending_and_holds_its_stream(
    redis_server: RedisServer,
) -> None:
    stream, dead = unique("stuck"), unique("stuck-dlq")
    dispatch = FakeDispatch(answer=failing_on("poison"))
    cfg = config(redis_server, stream, retries=1, dead_letter=dead)
    async with connected(redis_server) as client:
        await client.set(dead, "a string, not a stream")
        bad = await add(client, stream, {"data": '"poison"'})
        behind = await add(client, stream, {"data": '"next"'})
        async with running(cfg, dispatch) as sub:
            state = await eventually(
                lambda: s if (s := sub.state()).stuck and len(dispatch.events) >= 4 else None,
                what="stuck, and tried again after backoff.max",
            )
            [group] = await client.xinfo_groups(stream)
            detail = await client.xpending_range(stream, "gaia-fn", "-", "+", 10)
            assert [event["data"] for event in dispatch.events] == ["poison"] * len(
                dispatch.events
            ), "ordering: stream: the entry behind waits"
            await client.delete(dead)
            await eventually(lambda: sub.state().processed == 1, what="the entry behind")
            await eventually(lambda: sub.state().pending == 0, what="both acknowledged")
        [(_, letter)] = await entries(client, dead)
    [stuck] = state.stuck_entries
    assert state.stuck == 1
    assert stuck.entry == bad and "WRONGTYPE" in stuck.error
    assert stuck.retry_at > stuck.since
    assert state.processed == 0 and state.dead_lettered == 0
    assert group["pending"] >= 1 and detail[0]["message_id"] == bad.encode()
    assert letter[b"gaia-entry"] == bad.encode()
    assert dispatch.events[-1]["id"] == f"{stream}/{behind}"


async def test_with_ordering_none_a_stuck_entry_holds_only_itself(
    redis_server: RedisServer,
) -> None:
    stream = unique("stuck-none")
    dispatch = FakeDispatch(answer=failing_on("poison"))
    cfg = config(redis_server, stream, ordering="none", retries=0)  # no dead letter
    async with connected(redis_server) as client:
        bad = await add(client, stream, {"data": '"poison"'})
        for n in range(3):
            await add(client, stream, {"data": str(n)})
        async with running(cfg, dispatch) as sub:
            state = await eventually(
                lambda: s if (s := sub.state()).processed == 3 and s.stuck else None,
                what="the others processed, the poison stuck",
            )
            await eventually(lambda: sub.state().pending == 1, what="only it pending")
    [stuck] = state.stuck_entries
    assert stuck.entry == bad and "no dead letter is configured" in stuck.error


async def test_ordering_stream_runs_entries_one_after_another_in_order(
    redis_server: RedisServer,
) -> None:
    stream = unique("ordered")

    async def jittery(event: CloudEvent) -> InvocationResult:
        await asyncio.sleep(random.uniform(0, 0.003))
        return ok()

    dispatch = FakeDispatch(answer=jittery)
    async with connected(redis_server) as client:
        for n in range(60):
            await client.xadd(stream, {"data": str(n)})
        async with running(config(redis_server, stream, max_in_flight=8), dispatch):
            await eventually(lambda: len(dispatch.events) == 60, what="every entry")
    assert [event["data"] for event in dispatch.events] == list(range(60))
    assert dispatch.most_running == 1


async def test_ordering_none_runs_up_to_max_in_flight_at_once(redis_server: RedisServer) -> None:
    stream = unique("parallel")
    release = asyncio.Event()

    async def held(event: CloudEvent) -> InvocationResult:
        await release.wait()
        return ok()

    dispatch = FakeDispatch(answer=held)
    cfg = config(redis_server, stream, ordering="none", max_in_flight=4)
    async with connected(redis_server) as client:
        for n in range(40):
            await client.xadd(stream, {"data": str(n)})
        async with running(cfg, dispatch) as sub:
            await eventually(lambda: dispatch.running == 4, what="four running")
            # Twice max_in_flight are held: read from the group, waiting their turn.
            state = await eventually(
                lambda: s if (s := sub.state()).pending == 8 and s.lag == 32 else None,
                what="the group's pending and lag",
            )
            release.set()
            await eventually(lambda: sub.state().processed == 40, what="every entry")
    assert dispatch.most_running == 4
    assert state.in_flight == 8


async def test_a_dead_consumers_pending_entries_are_taken_over_after_claim_idle(
    redis_server: RedisServer,
) -> None:
    stream = unique("orphans")
    dispatch = FakeDispatch()
    cfg = config(redis_server, stream, claim_idle="300ms")
    async with connected(redis_server) as client:
        await client.xgroup_create(stream, "gaia-fn", id="0", mkstream=True)
        for n in range(5):
            await client.xadd(stream, {"data": str(n)})
        # A consumer that read five entries and died before acknowledging them.
        await client.xreadgroup("gaia-fn", "dead", {stream: ">"}, count=5)
        async with running(cfg, dispatch) as sub:
            state = await eventually(
                lambda: s if (s := sub.state()).claimed == 5 and s.processed == 5 else None,
                what="five claimed and processed",
                within=10,
            )
            await eventually(lambda: sub.state().pending == 0, what="acknowledged")
    assert sorted(event["data"] for event in dispatch.events) == [0, 1, 2, 3, 4]
    assert state.consumer == "replica-1"


def test_idle_entries_are_looked_for_every_half_claim_idle_and_at_least_every_5s() -> None:
    assert claim_every(0.3) == 0.15
    assert claim_every(10.0) == 5.0
    assert claim_every(30.0) == 5.0


async def test_a_live_consumers_slow_entry_is_not_taken_from_it(redis_server: RedisServer) -> None:
    stream = unique("slow")

    async def slow(event: CloudEvent) -> InvocationResult:
        await asyncio.sleep(1.5)  # five times claim_idle
        return ok()

    first, second = FakeDispatch(answer=slow), FakeDispatch()
    cfg = config(redis_server, stream, claim_idle="300ms")
    async with connected(redis_server) as client, running(cfg, first, replica="a"):
        await client.xadd(stream, {"data": "slow"})
        await eventually(lambda: first.events, what="the first consumer took it")
        async with running(cfg, second, replica="b") as other:
            await eventually(lambda: not first.running, what="the slow entry done", within=10)
            await eventually(lambda: other.state().pending == 0, what="acknowledged")
            claimed = other.state().claimed
    assert len(first.events) == 1 and second.events == [] and claimed == 0


async def test_stop_lets_running_entries_finish_and_acknowledges_them(
    redis_server: RedisServer,
) -> None:
    stream = unique("drain")

    async def slow(event: CloudEvent) -> InvocationResult:
        await asyncio.sleep(0.3)
        return ok()

    dispatch = FakeDispatch(answer=slow)
    cfg = config(redis_server, stream, ordering="none")
    async with connected(redis_server) as client:
        sub = RedisSubscriber(
            trigger_id="fn/redis/0", function="fn", config=cfg, dispatch=dispatch, replica="r"
        )
        await sub.start()
        for n in range(3):
            await client.xadd(stream, {"data": str(n)})
        await eventually(lambda: dispatch.running == 3, what="three running")
        await sub.stop(timeout_s=5)
        assert await pending(client, stream, "gaia-fn") == 0
    state = sub.state()
    assert (state.status, state.processed) == ("stopped", 3)


async def test_what_does_not_finish_by_the_stop_timeout_is_read_again_by_the_same_consumer(
    redis_server: RedisServer,
) -> None:
    stream = unique("unfinished")
    never = asyncio.Event()

    async def hangs(event: CloudEvent) -> InvocationResult:
        await never.wait()
        return ok()

    cfg = config(redis_server, stream)
    async with connected(redis_server) as client:
        entry = await add(client, stream, {"data": "1"})
        hung = FakeDispatch(answer=hangs)
        async with running(cfg, hung, drain_timeout_s=0.2):
            await eventually(lambda: hung.running, what="running")
        assert await pending(client, stream, "gaia-fn") == 1, "unfinished: not acknowledged"
        again = FakeDispatch()
        async with running(cfg, again) as sub:  # the same consumer name: its own pending
            await eventually(lambda: sub.state().pending == 0, what="acknowledged")
    assert again.ids() == [f"{stream}/{entry}"]


async def test_an_unreachable_server_is_retried_with_the_error_in_the_state() -> None:
    cfg = RedisTriggerConfig(url=f"redis://127.0.0.1:{free_port()}/0", stream="s")
    async with running(cfg, FakeDispatch(), until="connecting") as sub:
        state = sub.state()
    assert "Connect" in str(state.error) and str(cfg.url.split("/")[2]) in str(state.error)


async def test_a_stream_key_of_another_type_is_reported_until_it_is_fixed(
    redis_server: RedisServer,
) -> None:
    stream = unique("clash")
    dispatch = FakeDispatch()
    async with connected(redis_server) as client:
        await client.set(stream, "a string")
        async with running(config(redis_server, stream), dispatch, until="connecting") as sub:
            assert "WRONGTYPE" in str(sub.state().error)
            await client.delete(stream)
            await eventually(lambda: sub.state().status == "running", within=15, what="back")
            await client.xadd(stream, {"data": "1"})
            await eventually(lambda: dispatch.events, what="the entry")


async def test_a_pending_entry_deleted_from_the_stream_is_acknowledged_not_delivered(
    redis_server: RedisServer,
) -> None:
    stream = unique("trimmed")
    cfg = config(redis_server, stream, group="g", consumer="c")
    async with connected(redis_server) as client:
        await client.xgroup_create(stream, "g", id="0", mkstream=True)
        gone = await add(client, stream, {"data": "1"})
        kept = await add(client, stream, {"data": "2"})
        await client.xreadgroup("g", "c", {stream: ">"}, count=2)  # a run that died
        await client.xdel(stream, gone)
        dispatch = FakeDispatch()
        async with running(cfg, dispatch) as sub:
            # Within the first look for idle entries (5 s), whose XAUTOCLAIM would also
            # drop it on Redis 7: the trigger acknowledges it as soon as it reads it.
            await eventually(lambda: sub.state().pending == 0, within=4, what="both acknowledged")
    assert dispatch.ids() == [f"{stream}/{kept}"]


async def test_a_restarted_server_is_reconnected_to(tmp_path: Path) -> None:
    server = RedisServer(tmp_path).start()
    stream = unique("restart")
    dispatch = FakeDispatch()
    try:
        async with running(config(server, stream), dispatch) as sub:
            async with connected(server) as client:
                await add(client, stream, {"data": "1"})
            await eventually(lambda: len(dispatch.events) == 1, what="the first entry")
            server.stop()
            await eventually(lambda: sub.state().status != "running", what="noticed")
            assert sub.state().error
            again = RedisServer(tmp_path / "again")
            again.port, again.url = server.port, server.url
            (tmp_path / "again").mkdir()
            server = again.start()
            await eventually(lambda: sub.state().status == "running", within=30, what="back")
            async with connected(server) as client:
                await add(client, stream, {"data": "2"})
            await eventually(lambda: len(dispatch.events) == 2, what="the entry after")
    finally:
        server.stop()
    assert [event["data"] for event in dispatch.events] == [1, 2]
