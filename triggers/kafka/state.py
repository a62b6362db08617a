"""What a running Kafka trigger reports (see triggers.state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from triggers.state import Sample, Series, TriggerState

PARTITION_LAG = Series(
    name="kafka_partition_lag",
    help="Records of an assigned partition not yet committed behind its high watermark",
    type="gauge",
    labels=("topic", "partition"),
)
PARTITION_STUCK = Series(
    name="kafka_partition_stuck",
    help="1 while an assigned partition is stopped at a record it could not deliver",
    type="gauge",
    labels=("topic", "partition"),
)


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

    def samples(self) -> list[Sample]:
        samples: list[Sample] = []
        for row in self.partitions:
            labels = (str(row["topic"]), str(row["partition"]))
            if row["lag"] is not None:
                samples.append((PARTITION_LAG, labels, row["lag"]))
            samples.append((PARTITION_STUCK, labels, 1 if row["stuck"] else 0))
        return samples
