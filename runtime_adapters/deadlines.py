"""Per-invocation deadlines on one event-loop timer.

Every invocation has a deadline, and nearly every one finishes long before it. A loop
timer per invocation costs more than it seems on uvloop (a libuv handle made, started
and stopped: about 4 µs, and `asyncio.timeout` about three times that, measured), so a
pool keeps its deadlines in a heap and arms one timer for the earliest; a finished
invocation only marks its entry cancelled, and cancelled entries are dropped as they
reach the top. Deadlines of one pool come nearly in order, so the top is soon dropped.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any


class Deadline:
    """One registered deadline; `fired` once its callback ran."""

    __slots__ = ("_args", "_callback", "cancelled", "fired", "when")

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self._callback = callback
        self._args = args
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        self.cancelled = True

    def _fire(self) -> None:
        self.fired = True
        self._callback(*self._args)


class Deadlines:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # ties keep the order of registration
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = math.inf

    def call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> Deadline:
        """Run `callback(*args)` `delay_s` from now unless the Deadline is cancelled first."""
        entry = Deadline(self._loop.time() + delay_s, callback, args)
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        heapq.heappush(heap, (entry.when, next(self._order), entry))
        if entry.when < self._armed_for:
            self._arm(entry.when)
        return entry

    def pending(self) -> int:
        """Entries held (cancelled ones included until they are dropped)."""
        return len(self._heap)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = when
        self._timer = self._loop.call_at(when, self._expire)

    def _expire(self) -> None:
        self._timer, self._armed_for = None, math.inf
        now = self._loop.time()
        heap = self._heap
        while heap and (heap[0][2].cancelled or heap[0][0] <= now):
            entry = heapq.heappop(heap)[2]
            if not entry.cancelled:
                entry.cancelled = True
                try:
                    entry._fire()
                except Exception as exc:  # the others still fire; the loop logs this one
                    self._loop.call_exception_handler(
                        {"message": "a deadline's callback raised", "exception": exc}
                    )
        if heap:
            self._arm(heap[0][0])
