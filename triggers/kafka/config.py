"""What one Kafka trigger consumes and how it delivers (gaia.yaml `- kafka: {...}`).

gateway/config.py validates the YAML into this model; the store keeps `to_dict()` and
the gateway rebuilds it with `from_dict()`, so both ends read one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

Ordering = Literal["partition", "key", "none"]
StartOffset = Literal["earliest", "latest"]
ORDERINGS: tuple[Ordering, ...] = ("partition", "key", "none")
START_OFFSETS: tuple[StartOffset, ...] = ("earliest", "latest")


@dataclass(frozen=True, kw_only=True)
class Batching:
    """Up to `size` messages of one partition, or what arrived within `window_s`."""

    size: int
    window_s: float


@dataclass(frozen=True, kw_only=True)
class KafkaTriggerConfig:
    brokers: tuple[str, ...]  # host:port bootstrap servers
    topics: tuple[str, ...]
    # None: derived from the function and the topics, so reordering triggers in the
    # file does not move a consumer group back to its start offset.
    group: str | None = None
    start: StartOffset = "latest"
    ordering: Ordering = "partition"
    max_in_flight: int = 64
    batch: Batching | None = None
    # Attempts after the first one; the total is retries + 1.
    retries: int = 2
    backoff_initial_s: float = 0.1
    backoff_max_s: float = 30.0
    dead_letter: str | None = None
    response_topic: str | None = None
    # How long the broker waits for a silent member before handing its partitions on.
    session_timeout_s: float = 10.0

    def group_for(self, function: str) -> str:
        return self.group or f"gaia-{function}-{'+'.join(sorted(self.topics))}"

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "brokers": list(self.brokers),
            "topics": list(self.topics),
            "start": self.start,
            "ordering": self.ordering,
            "max_in_flight": self.max_in_flight,
            "retries": self.retries,
            "backoff": {"initial": self.backoff_initial_s, "max": self.backoff_max_s},
            "session_timeout": self.session_timeout_s,
        }
        if self.group is not None:
            data["group"] = self.group
        if self.batch is not None:
            data["batch"] = {"size": self.batch.size, "window": self.batch.window_s}
        if self.dead_letter is not None:
            data["dead_letter"] = self.dead_letter
        if self.response_topic is not None:
            data["response_topic"] = self.response_topic
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> KafkaTriggerConfig:
        """Rebuild from `to_dict()` output (already validated when it was stored)."""
        backoff = cast(Mapping[str, float], data.get("backoff") or {})
        batch = cast(Mapping[str, float] | None, data.get("batch"))
        return cls(
            brokers=tuple(cast(list[str], data["brokers"])),
            topics=tuple(cast(list[str], data["topics"])),
            group=cast(str | None, data.get("group")),
            start=cast(StartOffset, data.get("start", "latest")),
            ordering=cast(Ordering, data.get("ordering", "partition")),
            max_in_flight=cast(int, data.get("max_in_flight", 64)),
            batch=(
                Batching(size=int(batch["size"]), window_s=float(batch["window"]))
                if batch
                else None
            ),
            retries=cast(int, data.get("retries", 2)),
            backoff_initial_s=float(backoff.get("initial", 0.1)),
            backoff_max_s=float(backoff.get("max", 30.0)),
            dead_letter=cast(str | None, data.get("dead_letter")),
            response_topic=cast(str | None, data.get("response_topic")),
            session_timeout_s=float(cast(float, data.get("session_timeout", 10.0))),
        )
