"""Where replicas agree on who runs a tick, and where every run is recorded.

`claim` is the one decision: it records the run and returns True for exactly one
caller per (trigger, scheduled time), atomically, so a tick is never run twice and a
replica that dies after claiming still leaves its run in the history. `LocalLedger`
serves a single gateway from memory; `RedisLedger` lets replicas share one schedule.

    Ledger
    ├── LocalLedger   one gateway: memory, nothing to set up
    └── RedisLedger   several gateways: SET NX per tick, runs in a hash, in a Lua script
"""

from __future__ import annotations

import abc
import json
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

import redis.asyncio as redis

import rediskit

Outcome = Literal["running", "succeeded", "failed", "skipped", "missed"]
HISTORY_LIMIT = 1000
# A run whose replica stopped refreshing its mark for this long no longer counts as
# running for `overlap`: that replica died.
RUNNING_STALE_S = 15.0


@dataclass(kw_only=True)
class Run:
    run_id: str  # the trigger and the scheduled time: the same on every retry
    scheduled: float  # epoch seconds
    replica: str
    outcome: Outcome
    started: float | None = None
    ended: float | None = None
    revision: str = ""
    attempts: int = 0
    error: str | None = None
    result: str | None = None  # the start of what the function returned

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ledger(abc.ABC):
    # What the trigger's state calls it: `local` (one gateway) or `redis` (shared).
    kind: str

    @abc.abstractmethod
    async def claim(self, trigger: str, run: Run) -> bool:
        """Record `run` if nobody has claimed its scheduled time; True if this did."""

    @abc.abstractmethod
    async def update(self, trigger: str, run: Run) -> None:
        """Record the run's new state (started, finished, skipped)."""

    @abc.abstractmethod
    async def mark_running(self, trigger: str, run_id: str, *, running: bool) -> None: ...

    @abc.abstractmethod
    async def refresh_running(self, trigger: str, run_id: str) -> None:
        """Keep a run's mark fresh; a mark already removed stays removed."""

    @abc.abstractmethod
    async def running(self, trigger: str) -> int:
        """Runs of `trigger` in progress on any replica."""

    @abc.abstractmethod
    async def history(self, trigger: str, *, limit: int) -> list[Run]:
        """The newest `limit` runs, newest first."""

    async def aclose(self) -> None:
        return None


class LocalLedger(Ledger):
    kind = "local"

    def __init__(self) -> None:
        self._runs: dict[str, OrderedDict[str, Run]] = {}
        self._running: dict[str, set[str]] = {}

    async def claim(self, trigger: str, run: Run) -> bool:
        runs = self._runs.setdefault(trigger, OrderedDict())
        if run.run_id in runs:
            return False
        runs[run.run_id] = run
        while len(runs) > HISTORY_LIMIT:
            runs.popitem(last=False)
        return True

    async def update(self, trigger: str, run: Run) -> None:
        self._runs.setdefault(trigger, OrderedDict())[run.run_id] = run

    async def mark_running(self, trigger: str, run_id: str, *, running: bool) -> None:
        marks = self._running.setdefault(trigger, set())
        if running:
            marks.add(run_id)
        else:
            marks.discard(run_id)

    async def refresh_running(self, trigger: str, run_id: str) -> None:
        return None  # local marks do not go stale: this process is alive to remove them

    async def running(self, trigger: str) -> int:
        return len(self._running.get(trigger, ()))

    async def history(self, trigger: str, *, limit: int) -> list[Run]:
        runs = sorted(self._runs.get(trigger, {}).values(), key=lambda r: r.scheduled)
        return runs[::-1][:limit]


# KEYS: tick, runs (hash), order (zset). ARGV: run id, run json, scheduled, tick ttl ms,
# history limit. The tick key alone decides; the run is written in the same step, so
# a claimed tick always has its run recorded.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[4]) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
  if excess > 0 then
    local old = redis.call('ZRANGE', KEYS[3], 0, excess - 1)
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)
    redis.call('HDEL', KEYS[2], unpack(old))
  end
  return 1
end
return 0
"""
_TICK_TTL_MS = 7 * 24 * 3600 * 1000


class RedisLedger(Ledger):
    kind = "redis"

    def __init__(self, url: str, *, prefix: str = "gaia:cron") -> None:
        self._redis: redis.Redis = rediskit.connect(url, timeout_s=5, connect_timeout_s=5)
        self._prefix = prefix
        self._claim = self._redis.register_script(_CLAIM)

    def _key(self, trigger: str, what: str) -> str:
        return f"{self._prefix}:{trigger}:{what}"

    async def claim(self, trigger: str, run: Run) -> bool:
        keys = [
            self._key(trigger, f"tick:{run.scheduled:.3f}"),
            self._key(trigger, "runs"),
            self._key(trigger, "order"),
        ]
        args: list[str | float] = [
            run.run_id,
            json.dumps(run.to_dict()),
            run.scheduled,
            _TICK_TTL_MS,
            HISTORY_LIMIT,
        ]
        return bool(await self._claim(keys=keys, args=args))

    async def update(self, trigger: str, run: Run) -> None:
        await self._redis.hset(self._key(trigger, "runs"), run.run_id, json.dumps(run.to_dict()))

    async def mark_running(self, trigger: str, run_id: str, *, running: bool) -> None:
        key = self._key(trigger, "running")
        if running:
            await self._redis.zadd(key, {run_id: time.time() + RUNNING_STALE_S})
        else:
            await self._redis.zrem(key, run_id)

    async def refresh_running(self, trigger: str, run_id: str) -> None:
        # XX: a refresh that reaches Redis after the run was unmarked must not revive it.
        key = self._key(trigger, "running")
        await self._redis.zadd(key, {run_id: time.time() + RUNNING_STALE_S}, xx=True)

    async def running(self, trigger: str) -> int:
        return int(await self._redis.zcount(self._key(trigger, "running"), time.time(), "+inf"))

    async def history(self, trigger: str, *, limit: int) -> list[Run]:
        ids = cast(
            list[bytes], await self._redis.zrevrange(self._key(trigger, "order"), 0, limit - 1)
        )
        if not ids:
            return []
        raw = await self._redis.hmget(self._key(trigger, "runs"), ids)
        return [Run(**json.loads(item)) for item in raw if item is not None]

    async def aclose(self) -> None:
        await self._redis.aclose()
