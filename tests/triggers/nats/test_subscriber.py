"""NatsSubscriber against a real nats-server with JetStream, with the function replaced
by a recording Dispatch: wildcards, queue groups, requests, retries, dead letters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from runtime_adapters.base import InvocationResult
from tests.brokers.nats import NatsServer
from tests.triggers.kit import FakeDispatch, eventually, ok
from tests.triggers.nats.kit import connected, listen, unique
from triggers.base import CloudEvent
from triggers.nats.config import JetStreamConfig, NatsTriggerConfig
from triggers.nats.subscriber import NatsSubscriber


def config(server: NatsServer, subject: str, **overrides: Any) -> NatsTriggerConfig:
    settings: dict[str, Any] = {
        "servers": (server.url,),
        "subject": subject,
        "backoff": {"initial": 0.01, "max": 0.05},
        **overrides,
    }
    return NatsTriggerConfig(**settings)


@asynccontextmanager
async def running(
    cfg: NatsTriggerConfig, dispatch: FakeDispatch, *, function: str = "fn"
) -> AsyncIterator[NatsSubscriber]:
    subscriber = NatsSubscriber(
        trigger_id=f"{function}/nats/0", function=function, config=cfg, dispatch=dispatch
    )
    await subscriber.start()
    try:
        await eventually(lambda: subscriber.state().status == "running", what="subscribed")
        yield subscriber
    finally:
        await subscriber.stop(timeout_s=5)


async def failing_on(bad: object) -> Any:
    async def answer(event: CloudEvent) -> InvocationResult:
        if event["data"] == bad:
            raise ValueError(f"cannot take {bad!r}")
        return ok(json.dumps({"got": event["data"]}).encode())

    return answer


async def test_wildcard_subjects_reach_the_function_as_cloudevents(
    nats_server: NatsServer,
) -> None:
    root = unique("orders")
    dispatch = FakeDispatch()
    async with (
        running(config(nats_server, f"{root}.>"), dispatch),
        connected(nats_server.url) as nc,
    ):
        await nc.publish(f"{root}.eu.created", b'{"id": 1}', headers={"traceparent": "00-ab-cd-01"})
        await nc.publish(f"{root}.us", b"raw")
        await nc.publish(f"other{root}.eu", b"not for us")
        await eventually(lambda: len(dispatch.events) == 2, what="two messages")
    by_subject = {event["subject"]: event for event in dispatch.events}
    first = by_subject[f"{root}.eu.created"]
    assert first["type"] == "dev.gaia.nats.message" and first["specversion"] == "1.0"
    assert first["data"] == {"id": 1} and first["traceparent"] == "00-ab-cd-01"
    assert by_subject[f"{root}.us"]["data"] == b"raw"


async def test_a_queue_group_shares_messages_without_handling_one_twice(
    nats_server: NatsServer,
) -> None:
    subject = unique("work.")
    one, two = FakeDispatch(), FakeDispatch()
    cfg = config(nats_server, subject)
    async with running(cfg, one), running(cfg, two), connected(nats_server.url) as nc:
        for n in range(200):
            await nc.publish(subject, str(n).encode())
        await eventually(lambda: len(one.events) + len(two.events) >= 200, what="200 messages")
    seen = [event["data"] for event in one.events + two.events]
    assert sorted(seen) == list(range(200)), "each message exactly once across the group"
    assert one.events and two.events


async def test_a_request_gets_the_return_value_or_the_error_as_its_reply(
    nats_server: NatsServer,
) -> None:
    subject = unique("ask.")
    dispatch = FakeDispatch(answer=await failing_on("boom"), revision="fn@2")
    async with running(config(nats_server, subject), dispatch), connected(nats_server.url) as nc:
        reply = await nc.request(subject, b'"hello"', timeout=5)
        failed = await nc.request(subject, b'"boom"', timeout=5)
    assert json.loads(reply.data) == {"got": "hello"}
    assert reply.headers is not None and reply.headers["gaia-revision"] == "fn@2"
    assert failed.headers is not None
    assert failed.headers["Nats-Service-Error-Code"] == "500"
    assert "cannot take 'boom'" in failed.headers["Nats-Service-Error"]
    assert len(dispatch.events) == 2, "a request gets one attempt: the caller decides"


async def test_a_core_message_is_retried_then_dead_lettered(nats_server: NatsServer) -> None:
    subject, dead = unique("core."), unique("dead.")
    dispatch = FakeDispatch(answer=await failing_on("poison"), revision="fn@3")
    cfg = config(nats_server, subject, retries=2, dead_letter=dead)
    async with running(cfg, dispatch) as sub, connected(nats_server.url) as nc:
        letters = await listen(nc, dead)
        await nc.publish(subject, b'"poison"', headers={"origin": "test"})
        await nc.publish(subject, b'"fine"')
        await eventually(lambda: letters, what="the dead letter")
        state = sub.state()
    [letter] = letters
    assert letter.data == b'"poison"' and letter.headers is not None
    assert letter.headers["gaia-attempts"] == "3" and letter.headers["gaia-revision"] == "fn@3"
    assert "cannot take 'poison'" in letter.headers["gaia-error"]
    assert letter.headers["origin"] == "test" and letter.headers["gaia-subject"] == subject
    assert (state.processed, state.dead_lettered) == (1, 1)


async def test_jetstream_naks_redelivers_then_dead_letters_and_acks_the_rest(
    nats_server: NatsServer,
) -> None:
    subject, dead, stream = unique("js."), unique("dead."), unique("S")
    dispatch = FakeDispatch(answer=await failing_on("poison"))
    cfg = config(
        nats_server,
        subject,
        retries=2,
        dead_letter=dead,
        jetstream=JetStreamConfig(stream=stream, ack_wait_s=5),
    )
    async with running(cfg, dispatch) as sub, connected(nats_server.url) as nc:
        letters = await listen(nc, dead)
        js = nc.jetstream()
        for value in (b'"a"', b'"poison"', b'"b"'):
            await js.publish(subject, value)
        await eventually(lambda: letters, what="the dead letter")
        state = await eventually(
            lambda: s if (s := sub.state()).processed == 2 and s.dead_lettered == 1 else None,
            what="two processed, one dead-lettered",
        )
    [letter] = letters
    assert letter.headers is not None
    assert letter.headers["gaia-stream"] == stream and letter.headers["gaia-sequence"] == "2"
    poison = [e for e in dispatch.events if e["data"] == "poison"]
    assert [e["deliveries"] for e in poison] == [1, 2, 3], "redelivered by the server"
    assert all(e["id"] == f"{stream}/2" for e in poison)
    assert (state.processed, state.dead_lettered, state.redelivered) == (2, 1, 2)


async def test_a_slow_invocation_past_ack_wait_is_not_redelivered(
    nats_server: NatsServer,
) -> None:
    subject, answers, stream = unique("slow."), unique("answers."), unique("S")

    async def slow(event: CloudEvent) -> InvocationResult:
        await asyncio.sleep(3.5)
        return ok(b"done")

    dispatch = FakeDispatch(answer=slow)
    cfg = config(
        nats_server,
        subject,
        reply_subject=answers,
        jetstream=JetStreamConfig(stream=stream, ack_wait_s=1),
    )
    async with running(cfg, dispatch) as sub, connected(nats_server.url) as nc:
        replies = await listen(nc, answers)
        await nc.jetstream().publish(subject, b"work")
        await eventually(lambda: replies, within=15, what="the answer")
        await eventually(lambda: sub.state().processed == 1, what="the ack")
    assert len(dispatch.events) == 1 and sub.state().redelivered == 0
    assert replies[0].data == b"done"
    assert replies[0].headers is not None
    assert replies[0].headers["gaia-source-id"] == f"{stream}/1"
