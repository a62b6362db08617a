"""Run events in parallel across keys and in order within a key, at most N at once.

`ordering: partition` keys events by partition, `key` by (partition, message key), and
`none` gives every event its own key. Each key has a queue and, while it has work, one
task draining it, so a key costs one task however many events wait in it. `submit`
waits only while `max_queued` events are waiting or running: a long queue on one key
never keeps other keys from being fed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger("gaia.triggers")

Work = Callable[[], Awaitable[None]]


class KeyedRunner:
    def __init__(self, *, max_in_flight: int, max_queued: int | None = None) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_queued = max_queued or max(1024, 16 * max_in_flight)
        self._queues: dict[Hashable, deque[Work]] = {}
        self._drainers: set[asyncio.Task[None]] = set()
        self._queued = 0  # submitted and not finished
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def queued(self) -> int:
        return self._queued

    async def submit(self, key: Hashable, work: Work) -> None:
        """Queue `work` behind the earlier work of `key`; waits only for room."""
        while self._queued >= self._max_queued:
            self._room.clear()
            await self._room.wait()
        self._queued += 1
        self._idle.clear()
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(work)
            return
        self._queues[key] = deque((work,))
        task = asyncio.create_task(self._drain_key(key))
        self._drainers.add(task)
        task.add_done_callback(self._drainers.discard)

    async def _drain_key(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                work = queue[0]
                try:
                    async with self._slots:
                        await work()
                except Exception:
                    # Logged, and the key goes on: a failed event has already been
                    # handled (retried, dead-lettered) by the pipeline.
                    log.exception("event handling failed for key %r", key)
                finally:
                    queue.popleft()
                    self._done()
        finally:
            del self._queues[key]
            # Work left behind by a cancellation is given up; its count goes with it.
            for _ in queue:
                self._done()

    def _done(self) -> None:
        self._queued -= 1
        if self._queued < self._max_queued:
            self._room.set()
        if self._queued == 0:
            self._idle.set()

    def cancel(self) -> None:
        """Abandon everything still running or waiting (shutdown after the drain timeout)."""
        for task in self._drainers:
            task.cancel()

    async def drain(self) -> None:
        """Wait for everything submitted so far."""
        await self._idle.wait()
