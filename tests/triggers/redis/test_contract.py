"""The Redis Streams subscriber against the shared subscriber contract, on a real
redis-server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.brokers.redis import RedisServer
from tests.triggers.contract import QueueSubscriberContract, unique
from tests.triggers.redis.kit import config, connected
from triggers.redis.config import RedisTriggerConfig
from triggers.redis.state import RedisState


class TestRedisSubscriber(QueueSubscriberContract):
    kind = "redis"
    state_type = RedisState

    @pytest.fixture
    def broker(self, redis_server: RedisServer) -> RedisServer:
        return redis_server

    async def new_source(self, broker: RedisServer) -> str:
        return unique("contract")

    def config(self, broker: RedisServer, source: str, **keys: Any) -> RedisTriggerConfig:
        return config(broker, source, **keys)

    def dead_letter_keys(self, source: str) -> dict[str, Any]:
        return {"dead_letter": f"{source}:dlq"}

    async def publish(self, broker: RedisServer, source: str, values: list[bytes]) -> None:
        async with connected(broker) as client:
            for value in values:
                await client.xadd(source, {"data": value})
