"""Admission by expected wait: queue an invocation only if it can start before its deadline.

A fixed queue length is the wrong limit for a gateway in front of slow code: 64 waiters
are nothing for a 1 ms function and a minute of waiting for a 1 s one. What a caller
cares about is whether its invocation will start in time, so a pool asks this
estimator how long a new arrival would wait, and sheds it (503, Retry-After) only
when that is past the deadline.

The estimate is the time one queue position takes to move, times the positions ahead:

- measured: the interval between two completions while invocations were queued (each
  completion then hands its slot to the next waiter), as an exponentially weighted
  moving average. It is the queue's real speed whatever the function does with its
  slots: CPU-bound code that shares one core among its `concurrency` slots and I/O-bound
  code that overlaps them both show up in it.
- before any such interval: the average service time of an invocation divided by the
  slots (instances x concurrency), which is the same thing if the slots run in parallel.
- with neither (nothing finished yet): no wait; the deadline in the queue still holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# Weight of the newest sample: about the last ten samples count, so the estimate follows
# a change of pace within milliseconds for quick functions.
WEIGHT = 0.1


class WaitEstimate:
    """Expected queue wait from recent completions; `clock` is monotonic seconds."""

    __slots__ = (
        "_clock",
        "_has_interval",
        "_has_service",
        "_interval_s",
        "_last_queued_at",
        "_queued_before",
        "_service_s",
    )

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        # Each average with a flag saying whether it has a sample yet, rather than None
        # for none: plain floats (C doubles compiled, admission.pxd).
        self._service_s = 0.0
        self._has_service = False
        self._interval_s = 0.0
        self._has_interval = False
        # When the previous completion happened, if invocations were queued at that
        # moment (`_queued_before`); not once the queue has emptied, so idle time is
        # never a sample.
        self._last_queued_at = 0.0
        self._queued_before = False

    def now(self) -> float:
        """The clock's time, for `completed`'s `started_at`."""
        return self._clock()

    def completed(self, started_at: float, *, queued: bool) -> None:
        """An invocation sent at `started_at` has answered; `queued`: others were waiting."""
        self._completed(started_at, queued)

    def _completed(self, started_at: float, queued: bool) -> None:
        # Apart from `completed` for Cython (admission.pxd), whose typed methods take no
        # keyword-only argument.
        now = self._clock()
        service_s = now - started_at
        if self._has_service:
            self._service_s += WEIGHT * (service_s - self._service_s)
        else:
            self._service_s = service_s
            self._has_service = True
        if not queued:
            self._queued_before = False
            return
        if self._queued_before:
            interval = now - self._last_queued_at
            if self._has_interval:
                self._interval_s += WEIGHT * (interval - self._interval_s)
            else:
                self._interval_s = interval
                self._has_interval = True
        self._last_queued_at = now
        self._queued_before = True

    def expected_wait(self, ahead: int, slots: int) -> float:
        """Seconds until an invocation with `ahead` queued before it gets a slot."""
        if self._has_interval:
            step = self._interval_s
        elif self._has_service and slots > 0:
            step = self._service_s / slots
        else:
            return 0.0
        return (ahead + 1) * step


def retry_after(expected_wait_s: float, deadline_s: float) -> int:
    """Whole seconds until the queue ahead has moved enough for a new arrival to start
    within its deadline: what a 503's Retry-After says; at least 1."""
    return max(1, math.ceil(expected_wait_s - deadline_s))
