"""What a Kafka trigger writes back to Kafka: the function's answers to the response
topic, and the records that failed every attempt to the dead-letter topic, with
headers that say why. One producer serves both; the subscriber decides when.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from runtime_adapters.base import InvocationResult
from triggers.answers import answer_headers
from triggers.kafka.events import Record
from triggers.pipeline import Failure, OutputFailed

# Sends hang while the broker is down (tansu, and Kafka without a leader): bounded here.
SEND_TIMEOUT_S = 30.0
_ERROR_HEADER_LIMIT = 4096


class Outputs:
    def __init__(self, *, producer: AIOKafkaProducer, trigger_id: str) -> None:
        self._producer = producer
        self._trigger_id = trigger_id

    async def respond(
        self, topic: str, result: InvocationResult, *, key: bytes | None, source_id: str
    ) -> None:
        """Produce an answer, and wait for the broker to have it: the record's offset is
        committed only after. Raises OutputFailed, which the pipeline retries."""
        headers = [("gaia-source-id", source_id.encode()), *answer_headers(result)]
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(topic, result.body, key=key, headers=headers),
                timeout=SEND_TIMEOUT_S,
            )
        except (KafkaError, TimeoutError) as exc:
            raise OutputFailed(
                f"could not produce the answer to {topic}: {exc or type(exc).__name__}"
            ) from exc

    async def dead_letter(
        self, topic: str, records: Sequence[Record], failure: Failure, *, revision: str
    ) -> None:
        """Produce each record as it came (key, value, headers) plus gaia-* headers;
        raises when the broker does not take all of them."""
        sends = []
        for record in records:
            headers = [
                *record.headers,
                ("gaia-error", failure.error.encode()[:_ERROR_HEADER_LIMIT]),
                ("gaia-error-kind", failure.kind.encode()),
                ("gaia-attempts", str(failure.attempts).encode()),
                ("gaia-revision", revision.encode()),
                ("gaia-trigger", self._trigger_id.encode()),
                ("gaia-topic", record.topic.encode()),
                ("gaia-partition", str(record.partition).encode()),
                ("gaia-offset", str(record.offset).encode()),
            ]
            sends.append(
                await self._producer.send(topic, record.value, key=record.key, headers=headers)
            )
        await asyncio.wait_for(asyncio.gather(*sends), timeout=SEND_TIMEOUT_S)
