"""Kafka records as the CloudEvents a handler receives, one at a time or in a batch.

A batch handler may answer `{"failed": [...]}`, naming items by `id` or by position;
only those items are retried and, at the end, dead-lettered.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

import msgspec

from runtime_adapters.base import InvocationResult
from runtime_adapters.queue_events import BATCH
from triggers.base import CloudEvent
from triggers.events import (
    MESSAGE,
    cloud_event,
    header_map,
    is_string,
    is_structured,
    sender_attributes,
    sender_data,
    structured_event,
    text_or_bytes,
)

log = logging.getLogger("gaia.triggers.kafka")

MESSAGE_TYPE = "dev.gaia.kafka.message"
BATCH_TYPE = "dev.gaia.kafka.batch"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
_NO_HEADERS: Mapping[str, str | bytes] = MappingProxyType({})


class Record(Protocol):
    """The fields of aiokafka's ConsumerRecord that a trigger reads."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def message_id(record: Record) -> str:
    return f"{record.topic}/{record.partition}/{record.offset}"


def message_event(record: Record, *, source: str) -> CloudEvent:
    return _event(record, _Names.of(source, record.topic, record.partition))


def message_events(records: Sequence[Record], *, source: str) -> list[CloudEvent]:
    """The events of one partition's records: what they share is named once."""
    if not records:
        return []
    first = records[0]
    names = _Names.of(source, first.topic, first.partition)
    return [_event(record, names) for record in records]


@dataclass(frozen=True, slots=True)
class _Names:
    """The parts of a record's event names that its partition decides."""

    id_prefix: str
    source: str
    subject_prefix: str

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def of(source: str, topic: str, partition: int) -> _Names:
        return _Names(f"{topic}/{partition}/", f"{source}/{topic}", f"partition:{partition}#")


def _event(record: Record, names: _Names) -> CloudEvent:
    offset = record.offset
    key = record.key
    # The offset can pass CloudEvents' 32-bit Integer and the key need not be text: the
    # handler reads them as properties, not attributes.
    message: dict[str, object] = {"offset": offset, "key": key}
    event = None
    headers: Mapping[str, str | bytes] = _NO_HEADERS
    if record.headers:
        headers = header_map(record.headers)
        message["headers"] = headers
        event = sender_event(record, headers)
    if event is None:
        event = cloud_event(
            id=f"{names.id_prefix}{offset}",
            source=names.source,
            type=MESSAGE_TYPE,
            subject=f"{names.subject_prefix}{offset}",
            time_ms=record.timestamp,
            payload=record.value,
        )
        traceparent = headers.get("traceparent")
        if isinstance(traceparent, str) and traceparent and is_string(traceparent):
            event["traceparent"] = traceparent
    event.setdefault("topic", record.topic)
    event.setdefault("partition", record.partition)
    if key is not None:
        text = text_or_bytes(key)
        message["key"] = text
        # The Kafka binding's name for the key; only text CloudEvents allows in a String.
        if type(text) is str and text and is_string(text):
            event.setdefault("partitionkey", text)
    event[MESSAGE] = message
    return event


def sender_event(record: Record, headers: Mapping[str, str | bytes]) -> CloudEvent | None:
    """The CloudEvent a producer made of this record (Kafka protocol binding): structured
    mode when `content-type` is application/cloudevents+json, binary mode when the
    `ce_` headers name a CloudEvent; else None."""
    content_type = headers.get("content-type")
    if is_structured(content_type):
        return structured_event(record.value)
    if "ce_specversion" not in headers:
        return None
    candidates: dict[str, object] = {
        name[3:].lower(): value
        for name, value in headers.items()
        if name[:3].lower() == "ce_" and type(value) is str
    }
    if content_type is not None:
        candidates["datacontenttype"] = content_type
    event = sender_attributes(candidates)
    if event is not None:
        event["data"] = sender_data(record.value, event.get("datacontenttype"))
    return event


def event_id(record: Record) -> str:
    """The `id` of the record's event."""
    if record.headers:
        event = sender_event(record, header_map(record.headers))
        if event is not None:
            return str(event["id"])
    return message_id(record)


def batch_event(records: Sequence[Record], *, source: str) -> CloudEvent:
    first, last = records[0], records[-1]
    span = f"{first.offset}-{last.offset}"
    return {
        "specversion": "1.0",
        "id": f"{first.topic}/{first.partition}/{span}",
        "source": f"{source}/{first.topic}",
        "type": BATCH_TYPE,
        "subject": f"partition:{first.partition}#{span}",
        "topic": first.topic,
        "partition": first.partition,
        # The JSON batch format when serialized: each item a CloudEvent in JSON.
        "datacontenttype": BATCH_CONTENT_TYPE,
        "data": message_events(records, source=source),
        MESSAGE: {BATCH: True},
    }


def failed_items(records: Sequence[Record], result: InvocationResult) -> list[Record]:
    """The records a batch handler reported as failed in its answer."""
    if not result.body.startswith(b"{"):
        return []
    try:
        answer = msgspec.json.decode(result.body)
    except msgspec.DecodeError:
        return []
    named = answer.get("failed") if isinstance(answer, dict) else None
    if not isinstance(named, list) or not named:
        return []
    # By the record's place as well as by its event's id, which a producer may have set.
    by_id = {message_id(record): record for record in records}
    by_id.update((event_id(record), record) for record in records)
    failed: dict[int, Record] = {}
    for item in named:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(records):
            failed[records[item].offset] = records[item]
        elif isinstance(item, str) and item in by_id:
            failed[by_id[item].offset] = by_id[item]
        else:
            log.warning("batch answer names %r, which is not an item of the batch", item)
    return [failed[offset] for offset in sorted(failed)]
