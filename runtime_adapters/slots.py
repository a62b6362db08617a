"""The per-request half of a revision's warm pool (runtime_adapters/pool.py `SlotPool`):
its ready instances, the slots they have free, and the wait estimate's completions. A
slot is taken and given back here, at C level compiled (slots.pxd), by the pool's own
invocations and by the leases the data plane takes per request (container/lease.py,
python/lease.py); whatever else a release needs (a waiter to hand the slot to, a draining
instance to stop, a retiring pool to finish) the pool does, in Python.

The pool owns it, shares its lists with it (`ready`, `waiters`) and sets `closed` when
it retires. Instances are the pool's (`SlotPool`'s InstanceT; a C class cannot be
Generic, so they are `Any` here), each a `SlotCounts`: what is read and written on them
per request are its fields, C fields compiled.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from runtime_adapters.admission import WaitEstimate


class SlotCounts:
    """The base of a pooled instance's class: its slot counts and state, which the pool
    reads and writes on every request (C fields compiled, slots.pxd, rather than
    entries of the instance's `__dict__`)."""

    __slots__ = ("in_flight", "last_used", "state")

    in_flight: int  # the invocations and lent slots it is running
    last_used: float  # when a slot of it was last given back (the loop's clock)
    state: str  # pool.py `State`


class Slots:
    __slots__ = ("_clock", "_settle", "closed", "concurrency", "estimate", "ready", "waiters")

    def __init__(
        self,
        *,
        ready: list[Any],
        waiters: deque[Any],
        concurrency: int,
        estimate: WaitEstimate,
        clock: Callable[[], float],
        settle: Callable[[Any], None],
    ) -> None:
        # The instances that take new work, packed from the first (SlotPool._pick says why).
        self.ready = ready
        # Invocations queued for a slot: while there are any, a free slot is theirs.
        self.waiters = waiters
        self.concurrency = concurrency
        self.estimate = estimate
        self.closed = False  # retiring: no new work
        self._clock = clock
        # The pool's part of a release that is not plain counting (see `release`).
        self._settle = settle

    def take(self) -> Any:
        """The instance of a free slot for work that arrives now, its slot counted; None
        when invocations are queued (they go first), the pool is retiring, or every slot
        is busy."""
        if self.waiters or self.closed:
            return None
        return self.pick()

    def pick(self) -> Any:
        """The first ready instance with a free slot, that slot counted; None if none."""
        concurrency = self.concurrency
        for instance in self.ready:
            in_flight = instance.in_flight
            if in_flight < concurrency:
                instance.in_flight = in_flight + 1
                return instance
        return None

    def release(self, instance: Any) -> None:
        """A slot of `instance` is free again."""
        instance.in_flight -= 1
        instance.last_used = self._clock()
        # Counting is all a release does unless a waiter can take the slot, the instance
        # is draining (its last slot stops it) or the pool is retiring (its last slot
        # ends the retirement): the pool does those.
        if self.waiters or self.closed or instance.state == "draining":
            self._settle(instance)

    def lent_back(self, instance: Any, sent_at: float, answered: bool) -> None:
        """A lease's request, sent at `sent_at` (`estimate.now()`), has ended;
        `answered`: with the instance's whole answer, a completion for the estimate."""
        self.release(instance)
        if answered:
            # `completed` without its keyword: a C-level call compiled (admission.pxd).
            self.estimate._completed(sent_at, bool(self.waiters))
