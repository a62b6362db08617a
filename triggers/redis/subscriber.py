"""Consume a Redis Stream into a function through a consumer group: at least once,
nothing skipped.

Entries come from XREADGROUP: first this consumer's own pending entries (left by a
previous run under the same name), then new ones (`>`). Each goes through the shared
Pipeline (retries with backoff, then the dead letter) in a KeyedRunner: with `ordering:
stream` one after another, with `none` up to `max_in_flight` at once. An entry is
acknowledged (XACK) only after the function succeeded (and its answer was added to
`reply_stream`) or after its dead letter was added. An entry that can be neither stays
pending, shown as stuck, and is tried again after `backoff.max`; with `ordering:
stream` the entries behind it wait.

Pending entries of a consumer that died are taken over with XAUTOCLAIM once idle for
`claim_idle`. So that a live consumer's slow or waiting entries are not taken from it,
it resets their idle time (XCLAIM to itself, JUSTID) every third of `claim_idle`.
At most twice `max_in_flight` entries are held (read and not finished) at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import redis.asyncio as redis
from redis.exceptions import RedisError, ResponseError

from runtime_adapters.base import InvocationResult
from triggers.base import Dispatch, TriggerContext
from triggers.connected import ConnectedSubscriber
from triggers.ordering import KeyedRunner
from triggers.pipeline import (
    DeadLettered,
    Delivered,
    DeliveryStuck,
    Failure,
    Pipeline,
    RetryPolicy,
    invoke_attempt,
)
from triggers.redis.config import RedisTriggerConfig
from triggers.redis.events import entry_event, event_id, stream_source
from triggers.redis.outputs import Outputs
from triggers.redis.state import RedisState, StuckEntry

log = logging.getLogger("gaia.triggers.redis")

_BLOCK_MS = 500  # how long a read waits for new entries; a stop is noticed within it
_READ_MAX = 256
_INFO_EVERY_S = 1.0
_CLAIM_EVERY_MAX_S = 5.0
_SOCKET_TIMEOUT_S = 10.0
_XCLAIM_CHUNK = 1000


def claim_every(claim_idle: float) -> float:
    """How often to look for idle entries: an entry idle for `claim_idle` is taken over
    within half of it more, and within 5 s more however long `claim_idle` is."""
    return min(claim_idle / 2, _CLAIM_EVERY_MAX_S)


# An entry as redis-py gives it: (id, fields); (None, None) for one deleted meanwhile.
_RawEntry = tuple[bytes | None, dict[bytes, bytes] | None]


def _entries(reply: object) -> list[_RawEntry]:
    """The entries of an XREADGROUP reply (one stream was read)."""
    streams = cast(list[tuple[bytes, list[_RawEntry]]], reply)
    return [entry for _, entries in streams for entry in entries]


@dataclass(eq=False, kw_only=True)
class _Entry:
    id: str
    fields: dict[bytes, bytes]
    revision: str = ""  # the revision that ran it last, for the dead letter


class RedisSubscriber(ConnectedSubscriber):
    kind = "redis"
    broker = "Redis"
    # A wrong-type key or a missing database fails the group's creation: retried too,
    # with the error shown, since the user may fix it while the gateway runs.
    connect_errors = (RedisError, OSError)

    def __init__(
        self,
        *,
        trigger_id: str,
        function: str,
        config: RedisTriggerConfig,
        dispatch: Dispatch,
        replica: str,
        drain_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(trigger_id=trigger_id, drain_timeout_s=drain_timeout_s)
        self.config = config
        self.group = config.group_for(function)
        self.consumer = config.consumer_for(replica)
        self._dispatch = dispatch
        self._source = stream_source(config.url, config.stream)
        backoff = config.backoff.policy()
        self._pipeline: Pipeline[_Entry] = Pipeline(
            invoke=self._invoke,
            dead_letter=self._dead_letter if config.dead_letter else None,
            policy=RetryPolicy(max_attempts=config.max_attempts, backoff=backoff),
        )
        self._limit = 2 * config.max_in_flight
        self._runner = KeyedRunner(max_in_flight=config.max_in_flight, max_queued=self._limit)
        # Entries read and not finished, by id: when their idle time was last reset.
        self._held: dict[str, float] = {}
        self._room = asyncio.Event()
        self._client: redis.Redis | None = None
        self._outputs: Outputs | None = None
        self._helpers: list[asyncio.Task[None]] = []
        self._stuck: dict[str, StuckEntry] = {}
        self._pending: int | None = None
        self._lag: int | None = None
        self._processed = 0
        self._retried = 0
        self._dead_lettered = 0
        self._claimed = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def _connect(self) -> None:
        client: redis.Redis = redis.from_url(
            self.config.url,
            socket_timeout=_SOCKET_TIMEOUT_S,
            socket_connect_timeout=5,
            client_name=f"gaia-{self.trigger_id}",  # a replica's name may hold spaces
        )
        try:
            await client.ping()
            try:
                await client.xgroup_create(
                    self.config.stream, self.group, id=self.config.start_id, mkstream=True
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):  # the group exists: it goes on where it was
                    raise
        except BaseException:
            await client.aclose()
            raise
        self._client = client
        self._outputs = Outputs(
            client=client, trigger_id=self.trigger_id, stream=self.config.stream
        )
        self._runner = KeyedRunner(max_in_flight=self.config.max_in_flight, max_queued=self._limit)
        self._held = {}

    async def _consume(self) -> None:
        log.info(
            "%s: reading %s as %s in group %s",
            self.trigger_id,
            self.config.stream,
            self.consumer,
            self.group,
        )
        self._helpers = [
            asyncio.create_task(self._refresh_info()),
            asyncio.create_task(self._claim_loop()),
            asyncio.create_task(self._keep_alive()),
        ]
        # The helpers run on through the drain (keeping held entries claimed); they
        # end in _disconnect.
        await self._read_own_pending()
        while not self._stopping.is_set():
            await self._read_new()

    async def _disconnect(self, *, timeout_s: float) -> None:
        """Let held entries finish within `timeout_s` (each acknowledged as it does);
        the rest stay pending, for this consumer's next start or another's XAUTOCLAIM."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._runner.drain(), timeout=timeout_s)
        self._runner.cancel()
        for task in self._helpers:
            task.cancel()
        self._stuck.clear()
        client, self._client, self._outputs = self._client, None, None
        if client is not None:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    # -- reading -----------------------------------------------------------------------

    async def _read_own_pending(self) -> None:
        """Every entry this consumer was given before and never acknowledged (a previous
        run under the same name died or stopped with them), page by page."""
        client = self._client
        assert client is not None
        after = "0"
        while room := await self._wait_for_room():
            reply = await client.xreadgroup(
                self.group, self.consumer, {self.config.stream: after}, count=min(room, _READ_MAX)
            )
            entries = _entries(reply)
            if not entries:
                return
            last = entries[-1][0]
            assert last is not None  # XREADGROUP names every entry, deleted ones too
            after = last.decode()
            await self._take(entries)

    async def _read_new(self) -> None:
        """One read of entries never delivered to the group, waiting up to _BLOCK_MS."""
        client = self._client
        assert client is not None
        if room := await self._wait_for_room():
            reply = await client.xreadgroup(
                self.group,
                self.consumer,
                {self.config.stream: ">"},
                count=min(room, _READ_MAX),
                block=_BLOCK_MS,
            )
            await self._take(_entries(reply))

    async def _take(self, entries: list[_RawEntry], *, claimed: bool = False) -> None:
        client = self._client
        assert client is not None
        gone: list[str] = []
        for raw_id, fields in entries:
            if raw_id is None:  # deleted while pending, as XAUTOCLAIM of Redis 6.2 says it
                continue
            entry_id = raw_id.decode()
            if not fields:  # deleted from the stream while pending: nothing to deliver
                gone.append(entry_id)
                continue
            if entry_id in self._held:
                continue  # this consumer has it already (a claim racing its own read)
            if claimed:
                self._claimed += 1
            self._held[entry_id] = time.monotonic()
            entry = _Entry(id=entry_id, fields=fields)
            await self._runner.submit(self._order_key(entry), partial(self._handle, entry))
        if gone:
            log.warning(
                "%s: %d pending entries were deleted from %s; acknowledging them",
                self.trigger_id,
                len(gone),
                self.config.stream,
            )
            await client.xack(self.config.stream, self.group, *gone)

    def _order_key(self, entry: _Entry) -> Hashable:
        return self.config.stream if self.config.ordering == "stream" else entry

    async def _wait_for_room(self) -> int:
        """How many more entries may be held, once there is room for one; 0 when
        stopping."""
        while len(self._held) >= self._limit and not self._stopping.is_set():
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), timeout=_BLOCK_MS / 1000)
        return 0 if self._stopping.is_set() else self._limit - len(self._held)

    # -- taking over a dead consumer's entries ----------------------------------------

    async def _claim_loop(self) -> None:
        idle_ms = int(self.config.claim_idle_s * 1000)
        every = claim_every(self.config.claim_idle_s)
        cursor = "0-0"
        while not self._stopping.is_set():  # a stopping consumer takes nothing new
            await asyncio.sleep(every)
            try:
                cursor = await self._claim(idle_ms, cursor)
            except RedisError as exc:
                log.warning("%s: XAUTOCLAIM failed: %s", self.trigger_id, exc)

    async def _claim(self, idle_ms: int, cursor: str) -> str:
        """Claim idle entries while there is room; where to go on next time."""
        client = self._client
        assert client is not None
        while (room := self._limit - len(self._held)) > 0 and not self._stopping.is_set():
            reply = await client.xautoclaim(
                self.config.stream,
                self.group,
                self.consumer,
                min_idle_time=idle_ms,
                start_id=cursor,
                count=min(room, _READ_MAX),
            )
            cursor, entries = reply[0].decode(), cast(list[_RawEntry], reply[1])
            if entries:
                log.info(
                    "%s: took over %d idle entries of %s",
                    self.trigger_id,
                    len(entries),
                    self.config.stream,
                )
            await self._take(entries, claimed=True)
            if cursor == "0-0":
                break
        return cursor

    async def _keep_alive(self) -> None:
        """Reset the idle time of the entries held longer than a third of claim_idle,
        so that no other consumer claims what this one is working on."""
        every = self.config.claim_idle_s / 3
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            due = [entry for entry, since in self._held.items() if now - since >= every]
            client = self._client
            if client is None:
                continue
            for start in range(0, len(due), _XCLAIM_CHUNK):
                chunk = due[start : start + _XCLAIM_CHUNK]
                try:
                    await client.xclaim(
                        self.config.stream,
                        self.group,
                        self.consumer,
                        0,
                        cast(Any, chunk),
                        justid=True,
                    )
                except RedisError as exc:
                    log.warning("%s: could not keep entries claimed: %s", self.trigger_id, exc)
                    break
                for entry in chunk:
                    if entry in self._held:
                        self._held[entry] = now

    # -- delivering --------------------------------------------------------------------

    async def _handle(self, entry: _Entry) -> None:
        held = self._held
        try:
            outcome = await self._deliver(entry)
            if outcome is None:
                return  # stopping while stuck: it stays pending
            self._count(outcome)
            await self._ack(entry)
        finally:
            held.pop(entry.id, None)
            self._room.set()

    async def _deliver(self, entry: _Entry) -> Delivered | DeadLettered | None:
        """Deliver until the entry succeeds or is dead-lettered; an entry that can be
        neither is tried again after backoff.max, never skipped. None: stopping."""
        while True:
            try:
                outcome = await self._pipeline.deliver(entry)
            except DeliveryStuck as exc:
                pause = self.config.backoff.max_s
                now = time.time()
                self._stuck[entry.id] = StuckEntry(
                    entry=entry.id, error=str(exc), since=now, retry_at=now + pause
                )
                log.error(
                    "%s: entry %s of %s is stuck, retrying in %.1fs: %s",
                    self.trigger_id,
                    entry.id,
                    self.config.stream,
                    pause,
                    exc,
                )
                await self._pause(pause)
                if self._stopping.is_set():
                    return None
                continue
            self._stuck.pop(entry.id, None)
            return outcome

    async def _ack(self, entry: _Entry) -> None:
        client = self._client
        if client is None:
            return
        try:
            await client.xack(self.config.stream, self.group, entry.id)
        except RedisError as exc:
            # Not lost: it stays pending and is delivered again (claimed or re-read).
            log.warning("%s: XACK of %s failed: %s", self.trigger_id, entry.id, exc)

    def _count(self, outcome: Delivered | DeadLettered) -> None:
        if isinstance(outcome, Delivered):
            self._processed += 1
            self._retried += outcome.attempts - 1
        else:
            self._retried += outcome.failure.attempts - 1

    async def _invoke(self, entry: _Entry, attempt: int) -> InvocationResult:
        stream = self.config.stream
        event = entry_event(
            stream=stream, entry_id=entry.id, fields=entry.fields, source=self._source
        )
        result = await invoke_attempt(self._dispatch, event, attempt=attempt, unit=entry)
        reply_stream = self.config.reply_stream
        if reply_stream and result.status < 500 and result.body:
            assert self._outputs is not None
            await self._outputs.reply(reply_stream, result, source_id=event_id(stream, entry.id))
        return result

    async def _dead_letter(self, entry: _Entry, failure: Failure) -> None:
        dead_letter = self.config.dead_letter
        assert dead_letter is not None and self._outputs is not None
        await self._outputs.dead_letter(
            dead_letter, entry.id, entry.fields, failure, revision=entry.revision
        )
        self._dead_lettered += 1
        log.warning(
            "%s: dead-lettered entry %s of %s to %s after %d attempt(s): %s",
            self.trigger_id,
            entry.id,
            self.config.stream,
            dead_letter,
            failure.attempts,
            failure.error,
        )

    # -- state -------------------------------------------------------------------------

    async def _refresh_info(self) -> None:
        while True:
            client = self._client
            if client is not None:
                with contextlib.suppress(RedisError, OSError):
                    summary = await client.xpending(self.config.stream, self.group)
                    self._pending = int(summary["pending"])
                    for group in await client.xinfo_groups(self.config.stream):
                        if group["name"].decode() == self.group:
                            lag = group.get("lag")  # Redis 7; None when it cannot tell
                            self._lag = None if lag is None else int(lag)
            await asyncio.sleep(_INFO_EVERY_S)

    def state(self) -> RedisState:
        stuck = tuple(self._stuck.values())
        return RedisState(
            status=self._status,
            error=self._error,
            stream=self.config.stream,
            group=self.group,
            consumer=self.consumer,
            ordering=self.config.ordering,
            pending=self._pending,
            lag=self._lag,
            in_flight=len(self._held),
            processed=self._processed,
            retried=self._retried,
            dead_lettered=self._dead_lettered,
            claimed=self._claimed,
            stuck=len(stuck),
            stuck_entries=stuck,
        )


def build(config: RedisTriggerConfig, context: TriggerContext) -> RedisSubscriber:
    return RedisSubscriber(
        trigger_id=context.trigger_id,
        function=context.function,
        config=config,
        dispatch=context.dispatch,
        replica=context.replica,
        drain_timeout_s=context.drain_timeout_s,
    )
