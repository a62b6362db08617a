"""One Redis server the limits share, and what happens while it cannot be reached.

Each call has a short timeout. A call that fails marks the server down for
`RETRY_S`: until then no limit asks it anything (so a request never waits on a server
known to be gone), and each limit keeps its share of the cluster's allowance in this
process instead: its rate, or its cap, divided by the replicas that used this server
in the last `PRESENCE_S` (every script records the replica that ran it). That is
Envoy's default for a global rate limit whose service is down (fail open), with a
local limit kept beside it. The first call after `RETRY_S` tries the server again.

Scripts run on the server's clock (`TIME`), so the replicas' clocks need not agree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

import rediskit

log = logging.getLogger("gaia.limits")

TIMEOUT_S = 0.25
RETRY_S = 1.0
PRESENCE_S = 30.0
PRESENCE_KEY = "gaia:limits:replicas"
FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

# Shared by every script: the server's time in ms, and this replica's presence.
# ARGV[1] replica, ARGV[2] presence ms; returns the replicas seen lately.
_PREAMBLE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local replicas = redis.call('ZCARD', KEYS[1])
"""

# KEYS[2] the bucket (hash: tokens, ts). ARGV[3] rate per s, ARGV[4] capacity,
# ARGV[5] tokens wanted. Returns {granted, ms until `wanted` tokens, replicas}.
_TAKE = (
    _PREAMBLE
    + """
local rate, capacity, want = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[2], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil or ts == nil then tokens, ts = capacity, now end
if now > ts then tokens = math.min(capacity, tokens + (now - ts) * rate / 1000) end
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'ts', math.max(now, ts))
redis.call('PEXPIRE', KEYS[2], math.ceil(capacity * 1000 / rate) + 1000)
local wait = 0
if granted < want then wait = math.ceil((want - tokens) * 1000 / rate) end
return {granted, wait, replicas}
"""
)

# KEYS[2] the leases (zset: lease -> expiry ms). ARGV[3] max, ARGV[4] lease, ARGV[5]
# ttl ms. Returns {1 if taken else 0, replicas}.
_ACQUIRE = (
    _PREAMBLE
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  return {1, replicas}
end
return {0, replicas}
"""
)

# KEYS[2] the leases. ARGV[3] ttl ms, ARGV[4...] leases still held (XX: a lease
# released meanwhile stays released).
_REFRESH = (
    _PREAMBLE
    + """
local ttl = tonumber(ARGV[3])
for i = 4, #ARGV do redis.call('ZADD', KEYS[2], 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ttl)
return replicas
"""
)


class RedisLink:
    def __init__(
        self, url: str, *, replica: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.url = url
        self.replica = replica
        self._clock = clock
        # A Redis restart must not leave each replica on its share for RETRY_S: the client
        # reconnects at once (rediskit.connect).
        self._redis: redis.Redis = rediskit.connect(
            url, timeout_s=TIMEOUT_S, connect_timeout_s=TIMEOUT_S
        )
        self._take = self._redis.register_script(_TAKE)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._refresh = self._redis.register_script(_REFRESH)
        # Replicas that used this server lately, as of its last answer.
        self.replicas = 1
        self._down_until = 0.0
        self._down_since: float | None = None

    def usable(self, now: float) -> bool:
        return now >= self._down_until

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        self._down_until = now + RETRY_S
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "limits: cannot reach %s (%s): each replica keeps its share of the limits"
                " (%d replicas seen) until it answers again",
                self.url,
                str(exc) or type(exc).__name__,
                self.replicas,
            )

    def _answered(self, replicas: int) -> None:
        self.replicas = max(1, replicas)
        if self._down_since is not None:
            log.warning(
                "limits: %s answers again after %.1fs: the limits are shared again",
                self.url,
                self._clock() - self._down_since,
            )
            self._down_since = None

    def _args(self, *rest: object) -> list[Any]:
        return [self.replica, int(PRESENCE_S * 1000), *rest]

    async def take(self, key: str, *, rate: float, capacity: int, want: int) -> tuple[int, float]:
        """Up to `want` tokens from the bucket at `key`: (granted, seconds until `want`
        would be there). Raises one of FAILURES when the server cannot answer."""
        granted, wait_ms, replicas = await self._take(
            keys=[PRESENCE_KEY, key], args=self._args(rate, capacity, want)
        )
        self._answered(int(replicas))
        return int(granted), int(wait_ms) / 1000

    async def acquire(self, key: str, *, limit: int, lease: str, ttl_s: float) -> bool:
        taken, replicas = await self._acquire(
            keys=[PRESENCE_KEY, key], args=self._args(limit, lease, int(ttl_s * 1000))
        )
        self._answered(int(replicas))
        return bool(taken)

    async def refresh(self, key: str, *, leases: Sequence[str], ttl_s: float) -> None:
        replicas = await self._refresh(
            keys=[PRESENCE_KEY, key], args=self._args(int(ttl_s * 1000), *leases)
        )
        self._answered(int(replicas))

    async def release(self, key: str, lease: str) -> None:
        await self._redis.zrem(key, lease)

    async def aclose(self) -> None:
        await self._redis.aclose()
