"""What a running Redis Streams trigger reports (see triggers.state): its group and
consumer, the group's backlog, and the entries stuck pending."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Self

from triggers.state import Sample, Series, TriggerState

PENDING = Series(
    name="redis_pending",
    help="Entries of the stream delivered to the group and not acknowledged (XPENDING)",
    type="gauge",
    labels=("stream", "group"),
)
CLAIMED = Series(
    name="redis_claimed",
    help="Entries this consumer took over from consumers that stopped (XAUTOCLAIM)",
    type="counter",
    labels=("stream", "group"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class StuckEntry:
    """An entry that could be neither processed nor dead-lettered: it stays pending,
    unacknowledged, and is tried again at `retry_at` (epoch seconds)."""

    entry: str
    error: str
    since: float
    retry_at: float


@dataclass(frozen=True, kw_only=True)
class RedisState(TriggerState):
    stream: str
    group: str
    consumer: str
    ordering: str
    # The group's entries delivered and not acknowledged yet, on every consumer (XPENDING).
    pending: int | None = None
    claimed: int = 0  # taken over from other consumers with XAUTOCLAIM
    # `stuck` is their number, as every kind's state gives it (metrics read it).
    stuck_entries: tuple[StuckEntry, ...] = ()

    def samples(self) -> list[Sample]:
        labels = (self.stream, self.group)
        samples: list[Sample] = [(CLAIMED, labels, self.claimed)]
        if self.pending is not None:
            samples.append((PENDING, labels, self.pending))
        return samples

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        state = super().from_dict(data)
        entries = tuple(StuckEntry(**entry) for entry in data.get("stuck_entries", ()))
        return replace(state, stuck_entries=entries)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["stuck_entries"] = [asdict(entry) for entry in self.stuck_entries]
        return data
