"""The NATS subscriber (JetStream) against the shared subscriber contract, on a real
nats-server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.brokers.nats import NatsServer
from tests.triggers.contract import QueueSubscriberContract, unique
from tests.triggers.nats.kit import connected
from triggers.nats.config import NatsTriggerConfig
from triggers.nats.state import NatsState


class TestNatsSubscriber(QueueSubscriberContract):
    kind = "nats"
    state_type = NatsState

    @pytest.fixture
    def broker(self, nats_server: NatsServer) -> NatsServer:
        return nats_server

    async def new_source(self, broker: NatsServer) -> str:
        return unique("contract")

    def config(self, broker: NatsServer, source: str, **keys: Any) -> NatsTriggerConfig:
        return NatsTriggerConfig.model_validate(
            {
                "servers": broker.url,
                "subject": source,
                # A second subscriber on the source resumes the first one's consumer.
                "jetstream": {"stream": f"{source}-stream", "ack_wait": "1s"},
                "backoff": {"initial": "10ms", "max": "50ms"},
                **keys,
            }
        )

    async def publish(self, broker: NatsServer, source: str, values: list[bytes]) -> None:
        async with connected(broker.url) as nc:
            js = nc.jetstream()
            for value in values:
                await js.publish(source, value)
