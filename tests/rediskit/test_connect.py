"""rediskit.connect against a real redis-server that restarts between two commands."""

from __future__ import annotations

import os
import signal
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

import rediskit
from tests.brokers.redis import RedisServer


async def test_a_client_whose_redis_restarted_while_idle_answers_its_next_command(
    own_redis: RedisServer,
) -> None:
    client = rediskit.connect(own_redis.url, timeout_s=2, connect_timeout_s=2)
    try:
        assert await client.set("k", "v")
        own_redis.stop()
        own_redis.start()
        # The pooled connection is the one the restart closed: one retry, on a new one.
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()


async def test_without_reconnect_the_restart_reaches_the_caller(
    own_redis: RedisServer,
) -> None:
    # What the store's notices connection needs: a lost connection may have lost notices.
    client = rediskit.connect(own_redis.url, timeout_s=2, connect_timeout_s=2, reconnect=False)
    try:
        assert await client.set("k", "v")
        own_redis.stop()
        own_redis.start()
        with pytest.raises(RedisConnectionError):
            await client.get("k")
        assert await client.get("k") == b"v"  # and the next command reconnects
    finally:
        await client.aclose()


async def test_a_command_redis_does_not_answer_times_out_once_not_twice(
    own_redis: RedisServer,
) -> None:
    client = rediskit.connect(own_redis.url, timeout_s=0.3, connect_timeout_s=2)
    try:
        assert await client.ping()
        assert own_redis.process is not None
        pid = own_redis.process.pid
        os.kill(pid, signal.SIGSTOP)  # connected, and answering nothing
        try:
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError):
                await client.get("k")
            waited = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        assert waited < 0.55, f"waited {waited:.2f} s: a timeout must not be retried"
    finally:
        await client.aclose()
