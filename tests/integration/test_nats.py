"""NATS triggers end to end: real gaia processes, real workers, a real nats-server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import nats
from cloudevents.core.bindings import http as sdk_http
from cloudevents.core.v1.event import CloudEvent as SdkEvent

from tests.brokers.nats import NatsServer
from tests.integration.functions import EVENT_VIEW, NATS_ECHO
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.integration.test_kafka import viewed
from tests.triggers.cloudevents_oracle import FORMAT, check
from tests.triggers.kit import eventually
from tests.triggers.nats.kit import connected, unique


def _config(tmp_path: Path, *triggers: str, code: str = NATS_ECHO) -> Path:
    write_function(tmp_path / "fn" / "echo", code)
    path = tmp_path / "gaia.yaml"
    items = "".join(f"\n      - nats: {trigger}" for trigger in triggers)
    path.write_text(
        f"""
functions:
  echo:
    code: ./fn/echo
    pool: {{min: 1, max: 2}}
    triggers:{items}
"""
    )
    return path


def _state(gaia: Gaia, index: int = 0) -> dict[str, Any]:
    with gaia.admin() as admin:
        response = admin.get(f"/v1/triggers/echo/nats/{index}")
        response.raise_for_status()
        state: dict[str, Any] = response.json()["state"]
        return state


def _running(gaia: Gaia, index: int = 0) -> bool:
    try:
        return bool(_state(gaia, index)["status"] == "running")
    except httpx.HTTPError:
        return False


def test_requests_wildcards_and_a_jetstream_dead_letter_through_the_gateway(
    tmp_path: Path, gaia_factory: GaiaFactory, nats_server: NatsServer
) -> None:
    root, subject, dead, stream = unique("ask"), unique("jobs."), unique("dead."), unique("S")
    config = _config(
        tmp_path,
        f"{{servers: {nats_server.url}, subject: '{root}.>'}}",
        f"{{servers: {nats_server.url}, subject: {subject}, retries: 1, dead_letter: {dead},"
        f" backoff: {{initial: 10ms, max: 50ms}}, jetstream: {{stream: {stream}, ack_wait: 2s}}}}",
    )
    gaia = gaia_factory().start("-f", str(config))
    wait_for(lambda: _running(gaia, 0) and _running(gaia, 1), what="both triggers")

    async def exercise() -> tuple[Any, Any, list[Any]]:
        async with connected(nats_server.url) as nc:
            letters: list[Any] = []

            async def keep(msg: Any) -> None:
                letters.append(msg)

            await nc.subscribe(dead, cb=keep)
            reply = await nc.request(f"{root}.eu.one", b'"hi"', timeout=10)
            failed = await nc.request(f"{root}.eu.two", b'"poison"', timeout=10)
            await nc.jetstream().publish(subject, b'"poison"')
            await eventually(lambda: letters, within=30, what="the dead letter")
            return reply, failed, letters

    reply, failed, letters = asyncio.run(exercise())
    body = json.loads(reply.data)
    assert body["subject"] == f"{root}.eu.one" and body["data"] == "hi" and body["revision"] == 1
    assert reply.headers["gaia-revision"] == "echo@1"
    assert failed.headers["Nats-Service-Error-Code"] == "500"
    assert "poison pill" in failed.headers["Nats-Service-Error"]
    [letter] = letters
    assert letter.headers["gaia-attempts"] == "2" and letter.headers["gaia-stream"] == stream
    assert letter.headers["gaia-revision"] == "echo@1"
    state = wait_for(lambda: (s := _state(gaia, 1))["dead_lettered"] == 1 and s, what="state")
    assert state["stream"] == stream and state["redelivered"] == 1

    listing = gaia.cli("triggers")
    assert listing.returncode == 0, listing.stderr
    assert f"{subject} (stream {stream})" in listing.stdout and f"{root}.>" in listing.stdout
    shown = gaia.cli("triggers", "show", "echo/nats/1")
    assert "dead-lettered: 1" in shown.stdout and "redelivered: 1" in shown.stdout


def test_a_queue_group_across_two_replicas_handles_each_message_once(
    tmp_path: Path, gaia_factory: GaiaFactory, nats_server: NatsServer
) -> None:
    subject, answers = unique("work."), unique("answers.")
    config = _config(
        tmp_path, f"{{servers: {nats_server.url}, subject: {subject}, reply_subject: {answers}}}"
    )
    one = gaia_factory("one").start("-f", str(config))
    two = gaia_factory("two").start("-f", str(config))
    wait_for(lambda: _running(one) and _running(two), what="both replicas subscribed")

    async def exercise() -> list[Any]:
        async with connected(nats_server.url) as nc:
            replies: list[Any] = []

            async def keep(msg: Any) -> None:
                replies.append(msg)

            await nc.subscribe(answers, cb=keep)
            for n in range(300):
                await nc.publish(subject, str(n).encode())
            await nc.flush()
            await eventually(lambda: len(replies) >= 300, within=30, what="300 answers")
            return replies

    replies = asyncio.run(exercise())
    assert sorted(json.loads(r.data)["data"] for r in replies) == list(range(300))
    counts = [_state(one)["processed"], _state(two)["processed"]]
    assert sum(counts) == 300 and all(counts), counts


def test_kill_9_in_the_middle_of_10000_jetstream_messages_loses_none(
    tmp_path: Path, gaia_factory: GaiaFactory, nats_server: NatsServer
) -> None:
    total = 10_000
    subject, answers = unique("bulk."), unique("answers.")
    stream, answer_stream = unique("S"), unique("A")
    config = _config(
        tmp_path,
        f"{{servers: {nats_server.url}, subject: {subject}, reply_subject: {answers},"
        f" jetstream: {{stream: {stream}, ack_wait: 2s, max_ack_pending: 64}}}}",
    )

    async def publish_all() -> None:
        async with connected(nats_server.url) as nc:
            js = nc.jetstream()
            await js.add_stream(name=stream, subjects=[subject])
            await js.add_stream(name=answer_stream, subjects=[answers])
            for start in range(0, total, 500):
                acks = [js.publish(subject, str(n).encode()) for n in range(start, start + 500)]
                await asyncio.gather(*acks)

    asyncio.run(publish_all())
    gaia = gaia_factory().start("-f", str(config))
    wait_for(lambda: _state(gaia)["processed"] >= total // 4, timeout=60, what="a quarter done")
    gaia.kill()  # SIGKILL: in-flight messages are never acknowledged
    gaia.start()  # the durable consumer resumes; unacknowledged ones come back

    async def answered() -> list[int]:
        nc = await nats.connect(nats_server.url)
        try:
            sub = await nc.jetstream().pull_subscribe(answers, stream=answer_stream)
            seen: list[int] = []
            # A deadline, not a number of fetches: an empty fetch can return at once
            # while the restarted gateway is still working through the backlog.
            deadline = time.monotonic() + 120
            while len(set(seen)) < total and time.monotonic() < deadline:
                try:
                    msgs = await sub.fetch(500, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):
                    await asyncio.sleep(0.05)
                    continue
                for msg in msgs:
                    seen.append(json.loads(msg.data)["data"])
                    await msg.ack()
            return seen
        finally:
            await nc.close()

    seen = asyncio.run(answered())
    assert set(seen) == set(range(total)), f"{total - len(set(seen))} message(s) never answered"
    print(f"\nkill -9 after {total // 4}+ of {total}: {len(seen) - total} redelivered duplicate(s)")


def test_a_handler_gets_cloudevents_the_sdk_reads_with_the_headers_as_a_property(
    tmp_path: Path, gaia_factory: GaiaFactory, nats_server: NatsServer
) -> None:
    root = unique("view")
    config = _config(
        tmp_path, f"{{servers: {nats_server.url}, subject: '{root}.>'}}", code=EVENT_VIEW
    )
    gaia = gaia_factory().start("-f", str(config))
    wait_for(lambda: _running(gaia), what="the trigger")
    made = SdkEvent(
        {"id": "é 1", "source": "/shop", "type": "shop.order", "region": "eu west",
         "datacontenttype": "application/json"},
        {"total": 12},
    )  # fmt: skip
    binary = sdk_http.to_binary(made, FORMAT)
    headers = {**binary.headers, "ce-datacontenttype": binary.headers["content-type"]}
    del headers["content-type"]

    async def ask() -> tuple[Any, Any]:
        async with connected(nats_server.url) as nc:
            plain = await nc.request(
                f"{root}.eu.one", b"\x00raw", timeout=10, headers={"origin": "test"}
            )
            made_reply = await nc.request(
                f"{root}.eu.two", binary.body, timeout=10, headers=headers
            )
            return plain, made_reply

    plain, made_reply = asyncio.run(ask())
    view = json.loads(plain.data)
    event = viewed(plain.data)
    check(event)
    assert event["source"] == f"{nats_server.url}/{root}.%3E" and event["reply"] is True
    assert event["subject"] == f"{root}.eu.one" and event["data"] == b"\x00raw"
    assert view["headers"] == {"origin": "test"} and "headers" not in event
    event = viewed(made_reply.data)
    check(event)
    assert event["id"] == "é 1" and event["region"] == "eu west"
    assert (event["source"], event["type"]) == ("/shop", "shop.order")
    assert event["data"] == {"total": 12}
