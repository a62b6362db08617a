"""What `gaia triggers` shows of a Redis Streams trigger, typed; `to_dict()` for JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class StuckEntry:
    """An entry that could be neither processed nor dead-lettered: it stays pending,
    unacknowledged, and is tried again at `retry_at` (epoch seconds)."""

    entry: str
    error: str
    since: float
    retry_at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class RedisTriggerState:
    status: str  # starting, connecting, running, failed, stopped
    error: str | None  # why it is not connected, or the last failure
    stream: str
    group: str
    consumer: str
    ordering: str
    # The group's entries delivered and not acknowledged yet, on every consumer (XPENDING).
    pending: int | None
    # Entries not yet delivered to the group (XINFO GROUPS `lag`; None when unknown).
    lag: int | None
    in_flight: int  # held by this consumer: running or waiting their turn
    processed: int
    retried: int
    dead_lettered: int
    claimed: int  # taken over from other consumers with XAUTOCLAIM
    stuck_entries: tuple[StuckEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        """As JSON; `stuck` is their number, as every kind's state gives it (metrics
        read it), and `stuck_entries` the entries."""
        data = asdict(self)
        data["stuck_entries"] = [asdict(entry) for entry in self.stuck_entries]
        data["stuck"] = len(self.stuck_entries)
        return data
