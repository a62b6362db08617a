"""Run events in parallel across keys and in order within a key, at most N at once.

`ordering: partition` keys events by partition, `key` by (partition, message key), and
`none` gives every event its own key. `submit` waits while `max_in_flight` events are
running or waiting, which is the backpressure a consumer loop needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger("gaia.triggers")


class KeyedRunner:
    def __init__(self, *, max_in_flight: int) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> None:
        """Start `work` after the previous work of `key`; returns once it is scheduled."""
        await self._slots.acquire()
        previous = self._tails.get(key)
        task = asyncio.create_task(self._run(key, previous, work))
        self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        key: Hashable,
        previous: asyncio.Task[None] | None,
        work: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            if previous is not None:
                # Order, not success, is what chains a key: a failed predecessor has
                # already been handled (retried, dead-lettered) by the pipeline.
                await asyncio.wait([previous])
            await work()
        except Exception:
            # A failing piece of work is logged and never stops the runner or its key.
            log.exception("event handling failed for key %r", key)
        finally:
            self._slots.release()
            if self._tails.get(key) is asyncio.current_task():
                del self._tails[key]

    def cancel(self) -> None:
        """Abandon everything still running or waiting (shutdown after the drain timeout)."""
        for task in self._tasks:
            task.cancel()

    async def drain(self) -> None:
        """Wait for everything submitted so far."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
