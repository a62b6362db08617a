"""A Kafka trigger's view of one partition it holds, and of the work it hands out.

A `Partition` lives for one assignment: a revocation or a reset (a stuck record) starts
a new one, so work left over from the old one cannot commit into the new.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka.structs import TopicPartition

from triggers.kafka.events import Record
from triggers.offsets import OffsetTracker


@dataclass(eq=False, kw_only=True)
class Unit:
    """What one delivery carries: a record, or a batch of one partition's records."""

    records: list[Record]
    revision: str = ""  # the revision that ran it last, for dead-letter headers
    # A retried remainder of a batch counts its dead letters on the batch it came from.
    origin: Unit | None = None
    dead_lettered: int = 0


@dataclass(frozen=True, kw_only=True)
class Stuck:
    offset: int
    error: str
    since: float
    retry_at: float


@dataclass(eq=False, kw_only=True)
class Partition:
    tp: TopicPartition
    tracker: OffsetTracker = field(default_factory=OffsetTracker)
    committed: int | None = None
    carried: int | None = None  # finished before a reset, not committed yet
    first_seen: int | None = None
    accepting: bool = True
    running: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    buffer: list[Record] = field(default_factory=list)
    draining: bool = False  # ordered runs: a task is taking this partition's buffer
    flush_at: float | None = None
    stuck: Stuck | None = None

    def __post_init__(self) -> None:
        self.idle.set()

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Around a delivery of this partition's records: revocation waits for `idle`."""
        self.running += 1
        self.idle.clear()
        try:
            yield
        finally:
            self.running -= 1
            if self.running == 0:
                self.idle.set()

    @property
    def dry(self) -> bool:
        """Nothing fetched is waiting or running: what finished can be committed now."""
        return self.running == 0 and not self.buffer

    def to_commit(self) -> int | None:
        candidates = [c for c in (self.tracker.committable, self.carried) if c is not None]
        best = max(candidates, default=None)
        if best is None or (self.committed is not None and best <= self.committed):
            return None
        return best

    def view(self, highwater: int | None) -> dict[str, Any]:
        """The admin API's row for this partition; `highwater` as the client last saw it."""
        done = self.committed if self.committed is not None else self.first_seen
        lag = max(0, highwater - done) if highwater is not None and done is not None else None
        stuck = self.stuck
        return {
            "topic": self.tp.topic,
            "partition": self.tp.partition,
            "committed": self.committed,
            "highwater": highwater,
            "lag": lag,
            "in_flight": self.tracker.in_flight,
            "stuck": (
                {
                    "offset": stuck.offset,
                    "error": stuck.error,
                    "since": stuck.since,
                    "retry_at": stuck.retry_at,
                }
                if stuck
                else None
            ),
        }
