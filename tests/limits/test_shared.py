"""The Redis-backed limits against a real redis-server: one bucket and one cap for
several replicas, batches of leased tokens, and what happens while Redis is gone."""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from limits.link import PRESENCE_KEY, PRESENCE_S, RETRY_S, TIMEOUT_S, RedisLink
from limits.shared import SharedCap, SharedRateLimiter
from limits.spec import ConcurrencyLimit, RateLimit
from tests.brokers.redis import RedisServer

_names = itertools.count()


@pytest.fixture
async def links(redis_server: RedisServer) -> AsyncIterator[list[RedisLink]]:
    made = [RedisLink(redis_server.url, replica=f"r{n}") for n in range(3)]
    yield made
    for link in made:
        await link.aclose()


def key() -> str:
    return f"gaia:test:{time.time_ns()}:{next(_names)}"


async def test_replicas_draw_from_one_bucket(links: list[RedisLink]) -> None:
    spec = RateLimit(rps=0.5, burst=10, redis="redis://x:1")
    shared = key()
    limiters = [SharedRateLimiter(spec, key=shared, link=link) for link in links]
    assert [limiter.batch for limiter in limiters] == [1, 1, 1]
    admitted = 0
    for _ in range(10):
        for limiter in limiters:
            admitted += await limiter.take() == 0.0
    # 30 asked in well under 2 s: the burst of 10, and no token more at 0.5/s.
    assert admitted == 10
    refusal = await limiters[0].take()
    assert 0 < refusal <= 2.0


async def test_a_replica_leases_a_batch_and_spends_it_without_redis(
    links: list[RedisLink], redis_server: RedisServer
) -> None:
    spec = RateLimit(rps=1000, burst=100, redis=redis_server.url)
    shared = key()
    limiter = SharedRateLimiter(spec, key=shared, link=links[0])
    assert limiter.batch == 10  # 10 ms of the rate
    assert await limiter.take() == 0.0
    client = redis.from_url(redis_server.url)
    try:
        left = float(await client.hget(shared, "tokens") or 0)
        # The first batch left the bucket at once (the refill since is at most a few).
        assert 90 <= left < 95
        for _ in range(3):  # within the batch: no round trip, the bucket is as it was
            assert await limiter.take() == 0.0
        assert limiter._fetch is None
        assert float(await client.hget(shared, "tokens") or 0) == left
        # Half the batch is spent: the next one is leased in the background.
        assert await limiter.take() == 0.0
        assert limiter._fetch is not None
        await limiter._fetch
        assert limiter._allowance == 5 + 10
    finally:
        await client.aclose()


async def test_while_redis_is_down_each_replica_keeps_its_share(own_redis: RedisServer) -> None:
    spec = RateLimit(rps=0.5, burst=12, redis=own_redis.url)
    shared = key()
    links = [RedisLink(own_redis.url, replica=f"r{n}") for n in range(3)]
    try:
        limiters = [SharedRateLimiter(spec, key=shared, link=link) for link in links]
        for _ in range(2):  # each replica shows itself to Redis, then sees the others
            for limiter in limiters:
                assert await limiter.take() == 0.0
        assert [link.replicas for link in links] == [3, 3, 3]
        own_redis.stop()
        # Each replica alone: a third of the burst (4), as no request waits on Redis.
        started = time.monotonic()
        admitted = [sum([await limiter.take() == 0.0 for _ in range(10)]) for limiter in limiters]
        assert time.monotonic() - started < 2.0
        assert admitted == [4, 4, 4]
        assert all(link.down for link in links)
        failed_at = time.monotonic()
        own_redis.start()
        # Once the retry time passed, the next request reaches Redis again.
        deadline = time.monotonic() + 10
        while links[0].down and time.monotonic() < deadline:
            await limiters[0].take()
            await asyncio.sleep(0.05)
        assert not links[0].down
        assert time.monotonic() - failed_at <= RETRY_S + 1.0
    finally:
        for link in links:
            await link.aclose()


async def test_replicas_seen_are_those_of_the_last_30_seconds(
    links: list[RedisLink], redis_server: RedisServer
) -> None:
    limiter = SharedRateLimiter(RateLimit(rps=5, redis=redis_server.url), key=key(), link=links[0])
    await limiter.take()
    client = redis.from_url(redis_server.url)
    try:
        assert b"r0" in await client.zrange(PRESENCE_KEY, 0, -1)
        assert 29_000 < await client.pttl(PRESENCE_KEY) <= PRESENCE_S * 1000 == 30_000
    finally:
        await client.aclose()


async def test_a_server_that_never_answers_costs_a_request_at_most_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        link = RedisLink(url, replica="r0")
        try:
            limiter = SharedRateLimiter(RateLimit(rps=5, redis=url), key=key(), link=link)
            started = time.monotonic()
            assert await limiter.take() == 0.0  # this replica's share: the whole burst
            assert TIMEOUT_S == 0.25
            assert time.monotonic() - started < TIMEOUT_S + 0.5
            assert link.down
            started = time.monotonic()
            await limiter.take()  # marked down: not asked again within RETRY_S
            assert time.monotonic() - started < 0.05
        finally:
            await link.aclose()


async def test_the_cap_holds_across_replicas_and_a_dead_replicas_leases_expire(
    links: list[RedisLink], redis_server: RedisServer
) -> None:
    spec = ConcurrencyLimit(max=2, redis=redis_server.url)
    shared = key()
    a, b = (SharedCap(spec, key=shared, link=link, ttl_s=0.6) for link in links[:2])
    first, second = await a.acquire(), await b.acquire()
    assert first and second
    assert await b.acquire() is None
    a.release(first)
    deadline = time.monotonic() + 5
    third = None
    while third is None and time.monotonic() < deadline:
        third = await b.acquire()
    assert third is not None
    assert await a.acquire() is None  # b holds both slots now
    b.release(third)
    taken = None
    while taken is None and time.monotonic() < deadline:
        taken = await a.acquire()
    assert taken is not None
    # `a` dies holding `taken`: it stops refreshing, and its lease expires.
    a._held.clear()
    started = time.monotonic()
    assert await b.acquire() is None
    freed = None
    while freed is None and time.monotonic() < started + 5:
        freed = await b.acquire()
        await asyncio.sleep(0.05)
    assert freed is not None
    assert time.monotonic() - started >= 0.4  # not before its lease ran out


async def test_while_redis_is_down_each_replica_admits_its_share_of_the_cap(
    own_redis: RedisServer,
) -> None:
    spec = ConcurrencyLimit(max=4, redis=own_redis.url)
    shared = key()
    links = [RedisLink(own_redis.url, replica=f"r{n}") for n in range(2)]
    try:
        caps = [SharedCap(spec, key=shared, link=link) for link in links]
        for _ in range(2):  # each replica shows itself to Redis, then sees the other
            for cap in caps:
                lease = await cap.acquire()
                assert lease
                cap.release(lease)
        assert [link.replicas for link in links] == [2, 2]
        own_redis.stop()
        # Each replica alone: half of the cap (2) in flight, as no request waits on Redis.
        held = [[await cap.acquire() for _ in range(3)] for cap in caps]
        assert all(link.down for link in links)
        assert held == [["", "", None], ["", "", None]]
        caps[0].release("")  # one finished: its slot is this replica's to give again
        assert await caps[0].acquire() == ""
        assert await caps[0].acquire() is None
    finally:
        for link in links:
            await link.aclose()


async def test_a_redis_restarted_while_no_request_came_is_reached_by_the_next_one(
    own_redis: RedisServer,
) -> None:
    link = RedisLink(own_redis.url, replica="r0")
    limiter = SharedRateLimiter(
        RateLimit(rps=0.5, burst=12, redis=own_redis.url), key=key(), link=link
    )
    try:
        assert await limiter.take() == 0.0
        own_redis.stop()
        own_redis.start()
        # Its pooled connection, closed by the restart, is replaced at once: the replica
        # does not fall back to its share for RETRY_S.
        assert await limiter.take() == 0.0
        assert not link.down
    finally:
        await link.aclose()
