"""What a running Kafka trigger reports (see triggers.state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from triggers.state import TriggerState


@dataclass(frozen=True, kw_only=True)
class KafkaState(TriggerState):
    group: str
    topics: list[str]
    ordering: str
    # One row per assigned partition: topic, partition, committed, highwater, lag,
    # in_flight, stuck ({offset, error} or None).
    partitions: list[dict[str, Any]] = field(default_factory=list)
    stuck_times: int = 0  # how often a partition got stuck at a record

    def partition_count(self) -> int:
        return len(self.partitions)
