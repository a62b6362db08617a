"""The limits kept in this process alone, and what every limit offers the gateway.

A `rate_limit` or `concurrency_limit` without `redis` is one of these. Kept apart from
limits.shared, so that a gateway whose limits are all local never loads the Redis client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from limits.bucket import TokenBucket
from limits.spec import ConcurrencyLimit, RateLimit

Clock = Callable[[], float]


class RateLimiter(Protocol):
    spec: RateLimit

    async def take(self) -> float:
        """0.0 when a request may go, else the seconds until one may."""


class Cap(Protocol):
    spec: ConcurrencyLimit

    async def acquire(self) -> str | None:
        """A lease to pass to `release`, or None when the cap is reached."""

    def release(self, lease: str) -> None: ...


class LocalRateLimiter:
    """`rate_limit` without `redis`: this replica's own bucket."""

    def __init__(self, spec: RateLimit, *, clock: Clock = time.monotonic) -> None:
        self.spec = spec
        self._clock = clock
        self._bucket = TokenBucket(rate=spec.rps, capacity=spec.capacity, now=clock())

    async def take(self) -> float:
        return self.take_now()

    def take_now(self) -> float:
        """`take`, which here never waits for anything."""
        return self._bucket.take(self._clock())

    def ready(self) -> bool:
        """Whether a request may go now (nothing is taken)."""
        return self._bucket.holds_one(self._clock())


def share(bucket_size: float, replicas: int) -> float:
    """A replica's part of a shared capacity while Redis is down: at least one."""
    return max(1.0, bucket_size / replicas)


class LocalCap:
    """`concurrency_limit` without `redis`: invocations in flight in this replica."""

    def __init__(self, spec: ConcurrencyLimit) -> None:
        self.spec = spec
        self.in_flight = 0

    async def acquire(self) -> str | None:
        return self.acquire_now()

    def acquire_now(self) -> str | None:
        """`acquire`, which here never waits for anything."""
        if self.in_flight >= self.spec.max:
            return None
        self.in_flight += 1
        return ""

    def release(self, lease: str) -> None:
        self.in_flight -= 1
