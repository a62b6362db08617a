"""Limits shared by the replicas through Redis, and their one-process versions.

A rate limit in Redis would cost a round trip per request if each request took its
token there. Instead each replica leases a small batch of tokens (`batch`: 10 ms of the
limit's rate, at least 1 and at most `burst`) and spends them locally; when half the
batch is gone it leases the next one in the background, so a request waits for Redis
only when the batch ran dry before the next arrived. Tokens are taken from the shared
bucket when they are leased, so the cluster never admits more than the bucket gave out:
over any T seconds at most `burst + rps x T + replicas x batch` requests (the batches
leased but not yet spent), and a replica may refuse while another still holds up to a
batch of unspent tokens. When the bucket is empty the replica refuses without asking
again until the script says a batch will be there.

The concurrency cap takes a lease per invocation in a sorted set (lease -> expiry):
exact, at two round trips per invocation (acquire, and a release that the response
does not wait for). Leases expire `LEASE_TTL_S` after their last refresh, which each
replica does every third of that while it holds any, so a replica that dies frees its
slots within `LEASE_TTL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time

from limits.bucket import TokenBucket
from limits.link import FAILURES, RedisLink
from limits.local import Clock, share
from limits.spec import ConcurrencyLimit, RateLimit

LEASE_S = 0.01
LEASE_TTL_S = 10.0


class SharedRateLimiter:
    def __init__(
        self, spec: RateLimit, *, key: str, link: RedisLink, clock: Clock = time.monotonic
    ) -> None:
        self.spec = spec
        self.key = key
        self._link = link
        self._clock = clock
        self.batch = max(1, min(spec.capacity, math.ceil(spec.rps * LEASE_S)))
        self._low = self.batch // 2
        self._allowance = 0
        self._empty_until = 0.0
        self._fetch: asyncio.Task[None] | None = None
        self._local: TokenBucket | None = None

    async def take(self) -> float:
        if self._allowance > 0:
            self._allowance -= 1
            if self._allowance <= self._low and self._fetch is None:
                self._lease_more()
            return 0.0
        while True:
            now = self._clock()
            if self._allowance > 0:
                self._allowance -= 1
                return 0.0
            if not self._link.usable(now):
                return self._local_take(now)
            if now < self._empty_until:
                return self._empty_until - now
            fetch = self._fetch if self._fetch is not None else self._lease_more()
            if fetch is None:
                return self._local_take(now)
            await asyncio.shield(fetch)

    def _lease_more(self) -> asyncio.Task[None] | None:
        now = self._clock()
        if now < self._empty_until or not self._link.usable(now):
            return None
        self._fetch = asyncio.ensure_future(self._lease())
        return self._fetch

    async def _lease(self) -> None:
        try:
            granted, wait_s = await self._link.take(
                self.key, rate=self.spec.rps, capacity=self.spec.capacity, want=self.batch
            )
        except FAILURES as exc:
            self._link.failed(exc)
            return
        finally:
            self._fetch = None
        self._local = None
        self._allowance += granted
        if granted < self.batch:
            self._empty_until = self._clock() + wait_s

    def _local_take(self, now: float) -> float:
        local = self._local
        if local is None:
            replicas = self._link.replicas
            local = self._local = TokenBucket(
                rate=self.spec.rps / replicas,
                capacity=share(self.spec.capacity, replicas),
                now=now,
            )
        return local.take(now)


class SharedCap:
    def __init__(
        self,
        spec: ConcurrencyLimit,
        *,
        key: str,
        link: RedisLink,
        clock: Clock = time.monotonic,
        ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self.spec = spec
        self.key = key
        self._link = link
        self._clock = clock
        self._ttl_s = ttl_s
        self._ids = itertools.count(1)
        self._held: set[str] = set()
        self._local = 0  # admitted in this replica alone while Redis was down
        self._refresher: asyncio.Task[None] | None = None
        self._releases: set[asyncio.Task[None]] = set()

    async def acquire(self) -> str | None:
        if self._link.usable(self._clock()):
            lease = f"{self._link.replica}#{next(self._ids)}"
            try:
                taken = await self._link.acquire(
                    self.key, limit=self.spec.max, lease=lease, ttl_s=self._ttl_s
                )
            except FAILURES as exc:
                self._link.failed(exc)
            else:
                if not taken:
                    return None
                self._held.add(lease)
                if self._refresher is None:
                    self._refresher = asyncio.ensure_future(self._refresh())
                return lease
        if self._local >= share(self.spec.max, self._link.replicas):
            return None
        self._local += 1
        return ""

    def release(self, lease: str) -> None:
        if not lease:
            self._local -= 1
            return
        self._held.discard(lease)
        # The answer does not wait for this; a release that fails expires instead.
        task = asyncio.ensure_future(self._release(lease))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _release(self, lease: str) -> None:
        with contextlib.suppress(*FAILURES):
            await self._link.release(self.key, lease)

    async def _refresh(self) -> None:
        try:
            while self._held:
                await asyncio.sleep(self._ttl_s / 3)
                if self._held:
                    with contextlib.suppress(*FAILURES):
                        await self._link.refresh(
                            self.key, leases=sorted(self._held), ttl_s=self._ttl_s
                        )
        finally:
            self._refresher = None
