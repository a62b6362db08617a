"""What only the Redis store does: its URL, and a redis-server that stops and comes back."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from gateway.store import Changes, FunctionRecord, StoreUnavailable
from gateway.store.redis import CHECK_EVERY_S, RedisStore, shown_url, split_url
from tests.brokers.redis import RedisServer


def test_the_url_keeps_gaias_prefix_apart_and_messages_hide_the_password() -> None:
    assert split_url("redis://h:6379/2?prefix=eu&socket_keepalive=true") == (
        "redis://h:6379/2?socket_keepalive=true",
        "eu",
    )
    assert split_url("redis://h:6379/0") == ("redis://h:6379/0", "gaia")
    assert shown_url("redis://admin:s3cret@h:6379/0") == "redis://admin:***@h:6379/0"
    with pytest.raises(ValueError, match="expected redis://host:port/db"):
        split_url("http://h:6379/0")
    with pytest.raises(ValueError, match="prefix must be a non-empty word"):
        split_url("redis://h:6379/0?prefix=")


async def test_while_redis_is_down_reads_and_writes_fail_clearly_and_nothing_lands(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url, replica="a")
    try:
        base = await store.load()
        own_redis.stop()
        change = Changes(functions=(FunctionRecord(name="hello", created_at=1.0),))
        for attempt in (store.load(), store.version(), store.write(change, base=base)):
            with pytest.raises(StoreUnavailable, match=f"the shared store {own_redis.url}"):
                await attempt
        own_redis.start()
        # The pooled connections Redis closed reconnect on their own.
        assert await store.load() == base
        await store.write(change, base=base)
        assert [f.name for f in (await store.load()).functions] == ["hello"]
    finally:
        await store.close()


async def test_a_follower_is_told_of_the_outage_and_checks_again_when_redis_is_back(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url, replica="a")
    checks = 0
    lost: list[str] = []
    checked = asyncio.Event()

    async def on_change(noticed: int | None) -> bool:
        nonlocal checks
        checks += 1
        checked.set()
        return False

    following = asyncio.create_task(store.follow(on_change, lost.append))
    try:
        await asyncio.wait_for(checked.wait(), 5)
        own_redis.stop()
        deadline = asyncio.get_running_loop().time() + 5
        while not lost:
            assert asyncio.get_running_loop().time() < deadline, "the outage went unnoticed"
            await asyncio.sleep(0.01)
        assert lost[0].startswith(f"the shared store {own_redis.url} cannot be reached")
        checked.clear()
        before = checks
        own_redis.start()
        # On reconnecting it checks at once: whatever was written meanwhile is taken.
        await asyncio.wait_for(checked.wait(), 3)
        assert checks > before
    finally:
        following.cancel()
        await store.close()


async def test_a_version_whose_notice_was_lost_is_found_by_the_periodic_check(
    own_redis: RedisServer,
) -> None:
    url = f"{own_redis.url}?prefix=lost"
    store = RedisStore(url, replica="a")
    calls: list[int | None] = []
    called = asyncio.Event()

    async def on_change(noticed: int | None) -> bool:
        calls.append(noticed)
        called.set()
        return await store.version() == 1  # "a version this gateway lacked"

    following = asyncio.create_task(store.follow(on_change, lambda reason: None))
    client = redis.Redis.from_url(own_redis.url)
    try:
        await asyncio.wait_for(called.wait(), 5)
        called.clear()
        # A version stored with no notice (as if the message were lost on the way).
        await client.set("lost:version", 1)
        await asyncio.wait_for(called.wait(), CHECK_EVERY_S + 2)
        assert calls[-1] is None  # the check, not a notice
        # It subscribes again (a missed notice may mean a broken subscription) and
        # checks once more on resubscribing.
        called.clear()
        await asyncio.wait_for(called.wait(), 5)
        assert calls[-1] is None
    finally:
        following.cancel()
        await client.aclose()
        await store.close()
