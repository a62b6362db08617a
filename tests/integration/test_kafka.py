"""Kafka triggers end to end: real gaia processes, real workers, the tansu broker."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from dateutil.parser import isoparse

from tests.brokers.tansu import Tansu
from tests.integration.functions import EVENT_VIEW, KAFKA_ECHO
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.triggers.cloudevents_oracle import FORMAT, check
from tests.triggers.kafka.kit import new_topic, produce, read, read_until, topic_name


def _config(
    tmp_path: Path, tansu: Tansu, topic: str, *, code: str = KAFKA_ECHO, **keys: object
) -> Path:
    """gaia.yaml with one Kafka trigger; `keys` are added to the trigger."""
    extra = "".join(f"\n          {key}: {value}" for key, value in keys.items())
    write_function(tmp_path / "fn" / "orders", code)
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  orders:
    code: ./fn/orders
    pool: {{min: 1, max: 2}}
    triggers:
      - kafka:
          brokers: {tansu.bootstrap}
          topic: {topic}
          start: earliest
          ordering: key
          session_timeout: 2s
          backoff: {{initial: 10ms, max: 50ms}}{extra}
"""
    )
    return path


def _state(gaia: Gaia) -> dict[str, Any]:
    with gaia.admin() as admin:
        response = admin.get("/v1/triggers/orders/kafka/0")
        response.raise_for_status()
        state: dict[str, Any] = response.json()["state"]
        return state


def _partitions(gaia: Gaia) -> set[int]:
    try:
        return {p["partition"] for p in _state(gaia)["partitions"]}
    except httpx.HTTPError:
        return set()


def test_answers_go_to_the_response_topic_failures_to_the_dead_letter_and_state_shows(
    tmp_path: Path, gaia_factory: GaiaFactory, tansu: Tansu
) -> None:
    topic = asyncio.run(new_topic(tansu.bootstrap, "orders", partitions=2))
    answers, dead = topic_name("answers"), topic_name("dead")
    config = _config(tmp_path, tansu, topic, retries=1, dead_letter=dead, response_topic=answers)
    gaia = gaia_factory().start("-f", str(config))
    messages = [(f"k{n % 4}".encode(), json.dumps(f"m{n}").encode()) for n in range(20)]
    asyncio.run(produce(tansu.bootstrap, topic, [*messages, (b"k0", b'"poison"')]))

    replies = asyncio.run(read(tansu.bootstrap, answers, count=20))
    bodies = [json.loads(r.value) for r in replies]
    assert sorted(b["data"] for b in bodies) == sorted(f"m{n}" for n in range(20))
    assert all(b["revision"] == 1 for b in bodies)
    assert all(r.key == b["key"].encode() for r, b in zip(replies, bodies, strict=True))
    [letter] = asyncio.run(read(tansu.bootstrap, dead, count=1))
    headers = dict(letter.headers)
    assert letter.value == b'"poison"'
    assert headers["gaia-revision"] == b"orders@1"
    assert headers["gaia-error-kind"] == b"FunctionFailed"
    assert headers["gaia-attempts"] == b"2"
    assert headers["gaia-topic"] == topic.encode()

    state = wait_for(
        lambda: (s := _state(gaia))["lag"] == 0 and s["dead_lettered"] == 1 and s,
        what="the trigger to catch up",
    )
    assert (state["processed"], state["retried"], state["dead_lettered"]) == (20, 1, 1)
    assert {p["partition"] for p in state["partitions"]} == {0, 1}
    assert sum(p["committed"] for p in state["partitions"]) == 21

    listing = gaia.cli("triggers")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if "orders/kafka/0" in line)
    assert topic in row and "running" in row and "orders:default" in row
    shown = gaia.cli("triggers", "show", "orders/kafka/0")
    assert shown.returncode == 0, shown.stderr
    assert "dead-lettered: 1" in shown.stdout and topic in shown.stdout
    as_json = json.loads(gaia.cli("triggers", "-o", "json").stdout)
    assert as_json[0]["state"]["processed"] == 20
    with gaia.admin() as admin:
        metrics = admin.get("/metrics").text
    assert (
        'gateway_trigger_events_total{function_name="orders",kind="kafka",outcome="dead_lettered"'
        in metrics
    )
    missing = gaia.cli("triggers", "show", "orders/kafka/9")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    not_cron = gaia.cli("cron", "history", "orders/kafka/0")
    assert not_cron.returncode == 1 and "keeps no run history" in not_cron.stderr


def test_two_replicas_share_the_partitions_through_the_group(
    tmp_path: Path, gaia_factory: GaiaFactory, tansu: Tansu
) -> None:
    topic = asyncio.run(new_topic(tansu.bootstrap, "shared", partitions=4))
    answers = topic_name("answers")
    config = _config(tmp_path, tansu, topic, response_topic=answers)
    one = gaia_factory("one").start("-f", str(config))
    two = gaia_factory("two").start("-f", str(config))
    wait_for(
        lambda: (a := _partitions(one)) and (b := _partitions(two)) and a | b == {0, 1, 2, 3},
        what="both replicas to hold partitions",
    )
    held_one, held_two = _partitions(one), _partitions(two)
    assert held_one and held_two and held_one.isdisjoint(held_two)

    messages = [(f"k{n}".encode(), json.dumps(n).encode()) for n in range(200)]
    asyncio.run(produce(tansu.bootstrap, topic, messages))
    replies = asyncio.run(read(tansu.bootstrap, answers, count=200))
    assert sorted(json.loads(r.value)["data"] for r in replies) == list(range(200))
    counts = [_state(one)["processed"], _state(two)["processed"]]
    assert sum(counts) == 200 and all(counts), counts


def test_kill_9_in_the_middle_of_20000_messages_loses_none_and_keeps_key_order(
    tmp_path: Path, gaia_factory: GaiaFactory, tansu: Tansu
) -> None:
    total, keys = 20_000, 50
    topic = asyncio.run(new_topic(tansu.bootstrap, "crash", partitions=4))
    answers = topic_name("answers")
    config = _config(tmp_path, tansu, topic, response_topic=answers, max_in_flight=64)
    messages = [(f"k{n % keys}".encode(), json.dumps(n // keys).encode()) for n in range(total)]
    asyncio.run(produce(tansu.bootstrap, topic, messages))
    gaia = gaia_factory().start("-f", str(config))
    wait_for(lambda: _state(gaia)["processed"] >= total // 4, timeout=60, what="a quarter done")
    gaia.kill()  # SIGKILL: no drain, no final commit
    gaia.start()  # the same GAIA_HOME: the trigger comes back from the store

    def answered_all(records: list[Any]) -> bool:
        return len({r.value for r in records}) >= total

    replies = asyncio.run(read_until(tansu.bootstrap, answers, answered_all, within=180))
    seen: dict[str, list[int]] = defaultdict(list)
    for reply in replies:
        body = json.loads(reply.value)
        seen[body["key"]].append(body["data"])
    per_key = total // keys
    duplicates = 0
    for key, seqs in seen.items():
        assert set(seqs) == set(range(per_key)), f"{key} is missing messages"
        duplicates += len(seqs) - per_key
        # In order, except that one crash may replay a stretch already answered.
        restarts = [i for i in range(1, len(seqs)) if seqs[i] != seqs[i - 1] + 1]
        assert len(restarts) <= 1, f"{key} out of order: {seqs}"
        assert all(seqs[i] <= seqs[i - 1] for i in restarts), f"{key} skipped ahead: {seqs}"
    print(f"\nkill -9 after {total // 4}+ of {total}: {duplicates} duplicate(s) replayed")
    assert duplicates < total // 4, "only the in-flight window may be replayed"


def viewed(body: bytes) -> dict[str, Any]:
    """The event a handler saw (EVENT_VIEW's answer): its mapping, data as it was."""
    view = json.loads(body)
    return {**view["attributes"], "data": plain(view["data"])}


def plain(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"base64"}:
        return base64.b64decode(value["base64"])
    return value


def test_a_handler_gets_cloudevents_the_sdk_reads_and_the_record_as_properties(
    tmp_path: Path, gaia_factory: GaiaFactory, tansu: Tansu
) -> None:
    topic, answers = asyncio.run(new_topic(tansu.bootstrap, "view")), topic_name("answers")
    made = SdkEvent(
        {"id": "order-1", "source": "/shop", "type": "shop.order", "subject": "o/1",
         "partitionkey": "customer-9", "region": "eu", "datacontenttype": "application/json"},
        {"total": 12},
    )  # fmt: skip
    binary = sdk_kafka.to_binary(made, FORMAT)
    structured = sdk_kafka.to_structured(made, FORMAT)

    async def send() -> None:
        await produce(
            tansu.bootstrap,
            topic,
            [(b"\xff\x00k", b"\x00\x01binary")],
            headers=[("trace", b"\xfe\xff"), ("origin", b"test")],
        )
        for message in (binary, structured):
            key = message.key.encode() if isinstance(message.key, str) else message.key
            await produce(
                tansu.bootstrap, topic, [(key, message.value)], headers=[*message.headers.items()]
            )

    config = _config(tmp_path, tansu, topic, code=EVENT_VIEW, response_topic=answers)
    gaia_factory().start("-f", str(config))
    asyncio.run(send())
    replies = asyncio.run(read(tansu.bootstrap, answers, count=3))
    # Answers keep their record's key, so they spread over the answer topic's partitions:
    # read in any order.
    replies = sorted(replies, key=lambda r: dict(r.headers)["gaia-source-id"])
    plain_reply, *made_replies = replies
    assert [dict(r.headers)["gaia-source-id"] for r in replies] == [
        f"{topic}/0/{n}".encode() for n in range(3)
    ], "answers name the record they answer, CloudEvent or not"

    view = json.loads(plain_reply.value)
    event = viewed(plain_reply.value)
    check(event)
    assert event["id"] == f"{topic}/0/0" and event["data"] == b"\x00\x01binary"
    assert plain(view["key"]) == b"\xff\x00k" and view["offset"] == 0
    assert {k: plain(v) for k, v in view["headers"].items()} == {
        "trace": b"\xfe\xff",
        "origin": "test",
    }
    assert not {"headers", "key", "offset", "partitionkey"} & set(event)
    for reply in made_replies:
        event = viewed(reply.value)
        check(event)
        for name, value in made.get_attributes().items():
            got = event[name]
            assert (isoparse(got) if name == "time" else got) == value, name
        assert event["data"] == {"total": 12} and event["topic"] == topic
        assert json.loads(reply.value)["key"] == "customer-9"
