"""Test kit for Redis Streams triggers: a trigger config on the test server, a running
subscriber, names of their own per test, and reading streams back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import redis.asyncio as redis

from tests.brokers.redis import RedisServer
from tests.triggers.kit import FakeDispatch, eventually
from triggers.base import TriggerContext
from triggers.redis.config import RedisTriggerConfig
from triggers.redis.subscriber import RedisSubscriber, build

Entry = tuple[str, dict[bytes, bytes]]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def config(server: RedisServer, stream: str, **overrides: Any) -> RedisTriggerConfig:
    settings: dict[str, Any] = {
        "url": server.url,
        "stream": stream,
        "start": "earliest",
        "backoff": {"initial": "10ms", "max": "50ms"},
        **overrides,
    }
    return RedisTriggerConfig.model_validate(settings)


@asynccontextmanager
async def connected(server: RedisServer) -> AsyncIterator[redis.Redis]:
    client: redis.Redis = redis.from_url(server.url)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def running(
    cfg: RedisTriggerConfig,
    dispatch: FakeDispatch,
    *,
    replica: str = "replica-1",
    drain_timeout_s: float = 5.0,
    until: str = "running",
) -> AsyncIterator[RedisSubscriber]:
    """A started subscriber, once its status is `until`; stopped on the way out."""
    context = TriggerContext(
        trigger_id="fn/redis/0",
        function="fn",
        dispatch=dispatch,
        drain_timeout_s=drain_timeout_s,
        replica=replica,
    )
    subscriber = build(cfg, context)
    await subscriber.start()
    try:
        await eventually(lambda: subscriber.state().status == until, what=f"status {until}")
        yield subscriber
    finally:
        await subscriber.stop(timeout_s=drain_timeout_s)


async def add(client: redis.Redis, stream: str, fields: Mapping[str, str | bytes]) -> str:
    """XADD `fields`; the new entry's id."""
    return _text(await client.xadd(stream, dict(fields)))  # type: ignore[arg-type]


async def entries(client: redis.Redis, stream: str) -> list[Entry]:
    """Every entry of `stream`, oldest first, ids as text."""
    found = cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(stream))
    return [(entry_id.decode(), fields) for entry_id, fields in found]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def pending(client: redis.Redis, stream: str, group: str) -> int:
    return int((await client.xpending(stream, group))["pending"])
