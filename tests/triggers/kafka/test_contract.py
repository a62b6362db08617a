"""The Kafka subscriber against the shared subscriber contract, on a real broker."""

from __future__ import annotations

from typing import Any

import pytest

from tests.brokers.tansu import Tansu
from tests.triggers.contract import QueueSubscriberContract
from tests.triggers.kafka.kit import new_topic, produce
from triggers.kafka.config import KafkaTriggerConfig
from triggers.kafka.state import KafkaState


class TestKafkaSubscriber(QueueSubscriberContract):
    kind = "kafka"
    state_type = KafkaState

    @pytest.fixture
    def broker(self, tansu: Tansu) -> Tansu:
        return tansu

    async def new_source(self, broker: Tansu) -> str:
        return await new_topic(broker.bootstrap, "contract")

    def config(self, broker: Tansu, source: str, **keys: Any) -> KafkaTriggerConfig:
        return KafkaTriggerConfig.model_validate(
            {
                "brokers": broker.bootstrap,
                "topic": source,
                "start": "earliest",
                "session_timeout": "2s",
                "backoff": {"initial": "10ms", "max": "50ms"},
                **keys,
            }
        )

    async def publish(self, broker: Tansu, source: str, values: list[bytes]) -> None:
        await produce(broker.bootstrap, source, [(None, value) for value in values])
