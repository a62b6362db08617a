"""Test kit for Kafka triggers: topics, producing, reading back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def new_topic(bootstrap: str, prefix: str, *, partitions: int = 1) -> str:
    """A topic of its own for one test (auto-created topics would get 4 partitions)."""
    topic = topic_name(prefix)
    await create_topic(bootstrap, topic, partitions=partitions)
    return topic


async def create_topic(bootstrap: str, topic: str, *, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


Message = tuple[bytes | None, bytes]  # key, value


async def produce(
    bootstrap: str,
    topic: str,
    messages: Sequence[Message],
    *,
    headers: list[tuple[str, bytes]] | None = None,
    partition: int | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sends = [
            await producer.send(topic, value, key=key, headers=headers or [], partition=partition)
            for key, value in messages
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def read(bootstrap: str, topic: str, *, count: int, within: float = 20.0) -> list[Any]:
    """The first `count` records of `topic` (all partitions), failing at the deadline."""
    return await read_until(
        bootstrap, topic, lambda records: len(records) >= count, within=within, what=f"{count}"
    )


async def read_until(
    bootstrap: str,
    topic: str,
    enough: Callable[[list[Any]], bool],
    *,
    within: float = 20.0,
    what: str = "enough",
) -> list[Any]:
    """Records of `topic` from the start until `enough(records)`, failing at the deadline."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + within
        while not enough(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"read {len(records)} records from {topic}, wanted {what}")
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records
