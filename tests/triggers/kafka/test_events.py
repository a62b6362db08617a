"""Kafka records, produced to a real broker (tansu) and read back, become events that
the official CloudEvents SDK validates and round-trips; generated awkward records
(non-UTF-8 keys, bytes header values, binary payloads, odd timestamps) and records a
producer made CloudEvents with the SDK (binary and structured mode)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from dateutil.parser import isoparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_adapters.base import InvocationResult
from runtime_adapters.python.events import CloudEvent as HandlerEvent
from tests.brokers.tansu import Tansu
from tests.triggers.cloudevents_oracle import FORMAT, check, is_ce_string
from tests.triggers.kafka.kit import new_topic
from tests.triggers.strategies import (
    ce_strings,
    header_names,
    json_values,
    sdk_events,
)
from triggers.kafka.events import batch_event, failed_items, message_event


@dataclass(frozen=True)
class Sent:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp_ms: int | None
    made: SdkEvent | None = None  # the CloudEvent a producer made the record from


@st.composite
def plain_records(draw: st.DrawFn) -> Sent:
    key = draw(st.none() | st.text(max_size=8).map(str.encode) | st.binary(max_size=8))
    value = draw(
        st.none()
        | st.just(b"")
        | json_values.map(lambda v: json.dumps(v).encode())
        | st.binary(min_size=1, max_size=32)
    )
    headers = draw(
        st.lists(
            st.tuples(header_names | st.just("traceparent"), st.binary(max_size=12))
            | st.tuples(st.just("traceparent"), ce_strings.map(str.encode)),
            max_size=4,
        )
    )
    timestamp = draw(st.none() | st.integers(min_value=0, max_value=2**41))
    if key is None and value is None:
        value = b""  # a producer must send one of the two
    return Sent(key, value, headers, timestamp)


@st.composite
def cloudevent_records(draw: st.DrawFn) -> Sent:
    made = draw(sdk_events())
    if draw(st.booleans()):
        message = sdk_kafka.to_binary(made, FORMAT)
    else:
        message = sdk_kafka.to_structured(made, FORMAT)
    key = message.key.encode() if isinstance(message.key, str) else message.key
    return Sent(key, message.value, list(message.headers.items()), None, made)


async def produce_and_read(tansu: Tansu, sent: list[Sent]) -> tuple[str, list[Any]]:
    topic = await new_topic(tansu.bootstrap, "ce")
    producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap)
    await producer.start()
    try:
        for record in sent:
            await producer.send_and_wait(
                topic,
                record.value,
                key=record.key,
                headers=record.headers,
                timestamp_ms=record.timestamp_ms,
            )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=tansu.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        while len(records) < len(sent):
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return topic, records


def json_or_bytes(value: bytes | None) -> tuple[object, str]:
    """What the payload should become, by the standard library's JSON parser."""
    if not value:
        return value, "application/octet-stream"
    try:
        return json.loads(value, parse_constant=_no_constant), "application/json"
    except (ValueError, UnicodeDecodeError):
        return value, "application/octet-stream"


def _no_constant(name: str) -> None:
    raise ValueError(name)


def assert_plain(event: HandlerEvent, record: Any, source: str) -> None:
    """What the README's Kafka event table promises, field by field."""
    topic, partition, offset = record.topic, record.partition, record.offset
    assert event["id"] == f"{topic}/{partition}/{offset}"
    assert event["source"] == f"{source}/{topic}"
    assert event["type"] == "dev.gaia.kafka.message"
    assert event["subject"] == f"partition:{partition}#{offset}"
    if record.timestamp >= 0:
        moment = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        assert isoparse(event["time"]) == moment and event["time"].endswith("Z")
    data, content_type = json_or_bytes(record.value)
    assert event["data"] == data and event["datacontenttype"] == content_type
    assert (event["topic"], event["partition"], event.offset) == (topic, partition, offset)
    key = record.key
    if key is None:
        assert event.key is None and "partitionkey" not in event
    else:
        try:
            text: str | bytes = key.decode()
        except UnicodeDecodeError:
            text = key
        assert event.key == text
        if isinstance(text, str) and text and is_ce_string(text):
            assert event["partitionkey"] == text
        else:
            assert "partitionkey" not in event
    headers = {name: _text_or_bytes(value) for name, value in record.headers}
    assert dict(event.headers) == headers
    traceparent = headers.get("traceparent")
    if isinstance(traceparent, str) and traceparent and is_ce_string(traceparent):
        assert event["traceparent"] == traceparent
    else:
        assert "traceparent" not in event
    assert not {"key", "offset", "headers"} & set(event)


def assert_kept(event: HandlerEvent, record: Any, made: SdkEvent) -> None:
    """A producer's CloudEvent keeps its attributes and data; the SDK reads the same
    record to the same attributes."""
    message = sdk_kafka.KafkaMessage(
        headers=dict(record.headers), key=record.key, value=record.value
    )
    read = sdk_kafka.from_kafka(message, FORMAT).get_attributes()
    for name, value in read.items():
        got = event[name]
        assert (isoparse(got) if name == "time" else got) == value, name
    for name in ("id", "source", "type", "subject", "time"):
        assert (name in event) == (made.get_attributes().get(name) is not None), name
    assert event["data"] == made.get_data()
    assert (event["topic"], event["partition"], event.offset) == (
        record.topic,
        record.partition,
        record.offset,
    )


def _text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sent=st.lists(plain_records() | cloudevent_records(), min_size=1, max_size=12))
async def test_records_become_cloudevents_the_sdk_validates_and_round_trips(
    tansu: Tansu, sent: list[Sent]
) -> None:
    topic, records = await produce_and_read(tansu, sent)
    source = f"kafka://{tansu.bootstrap}"
    for record, what in zip(records, sent, strict=True):
        event = HandlerEvent(message_event(record, source=source))
        check(event)
        if what.made is None:
            assert_plain(event, record, source)
        else:
            assert_kept(event, record, what.made)
    batch = HandlerEvent(batch_event(records, source=source))
    check(batch)
    assert batch["type"] == "dev.gaia.kafka.batch"
    assert batch["id"] == f"{topic}/0/0-{len(records) - 1}"
    assert batch["subject"] == f"partition:0#0-{len(records) - 1}"
    assert [item.offset for item in batch["data"]] == [record.offset for record in records]
    assert [dict(item.headers) for item in batch["data"]] == [
        {name: _text_or_bytes(value) for name, value in record.headers} for record in records
    ]


@dataclass(frozen=True)
class Record:
    """A consumer record built in memory, for the rules that need no broker."""

    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    key: bytes | None = None
    offset: int = 5
    timestamp: int = -1
    topic: str = "t"
    partition: int = 0


SOURCE = "kafka://127.0.0.1:9092"
CE_HEADERS = (("ce_specversion", b"1.0"), ("ce_id", b"e-1"), ("ce_source", b"/s"))


def test_a_record_without_a_timestamp_has_no_time() -> None:
    event = HandlerEvent(message_event(Record(b"1"), source=SOURCE))
    check(event)
    assert "time" not in event and event["data"] == 1


def test_a_record_that_only_looks_like_a_cloudevent_is_delivered_as_any_other() -> None:
    structured = (("content-type", b"application/cloudevents+json"),)
    looks = [
        Record(b"not json", structured),
        Record(b'{"specversion": "1.0", "id": "x"}', structured),
        Record(b"{}", CE_HEADERS),  # no ce_type
        Record(b"{}", (*CE_HEADERS, ("ce_type", b"\xff"))),  # a type that is not UTF-8
    ]  # fmt: skip
    for record in looks:
        event = HandlerEvent(message_event(record, source=SOURCE))
        check(event)
        assert event["id"] == "t/0/5" and event["type"] == "dev.gaia.kafka.message"
        assert event.headers == {name: _text_or_bytes(value) for name, value in record.headers}


def test_attributes_cloudevents_does_not_allow_are_left_out() -> None:
    headers = (
        *CE_HEADERS,
        ("ce_type", b"t"),
        ("ce_Region", b"eu"),
        ("ce_bad_name", b"x"),
        ("ce_note", b"bell\x07"),
        ("ce_time", b"yesterday"),
        ("ce_subject", b"s/1"),
    )
    event = HandlerEvent(message_event(Record(None, headers, key=b"k"), source=SOURCE))
    check(event)
    assert {name: event[name] for name in event if name != "data"} == {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/s",
        "type": "t",
        "region": "eu",
        "subject": "s/1",
        "topic": "t",
        "partition": 0,
        "partitionkey": "k",
    }
    assert event["data"] is None and event.headers["ce_note"] == "bell\x07"


def test_a_batch_names_failed_items_by_the_producers_id_too() -> None:
    records = [
        Record(b"1", offset=1),
        Record(b"{}", (*CE_HEADERS, ("ce_type", b"t")), offset=2),
        Record(b"3", offset=3),
    ]
    answer = InvocationResult(status=200, headers=[], body=b'{"failed": ["e-1", "t/0/3"]}')
    assert [record.offset for record in failed_items(records, answer)] == [2, 3]
    batch = HandlerEvent(batch_event(records, source=SOURCE))
    assert [item["id"] for item in batch["data"]] == ["t/0/1", "e-1", "t/0/3"]
    assert (batch["topic"], batch["partition"]) == ("t", 0)
    assert batch["datacontenttype"] == "application/cloudevents-batch+json"
