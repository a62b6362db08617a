"""What a running trigger reports: its status and counters, typed.

The admin API returns `to_dict()` under a trigger's `state`; /metrics reads the
counters every kind shares, and the series a kind adds through `samples()` (Kafka's
lag per partition, JetStream's pending); `gaia triggers` shows them. A kind's subclass
adds its own fields; `hidden()` names the fields it does not report (cron has no dead
letters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal, Self


@dataclass(frozen=True, kw_only=True, slots=True)
class Series:
    """A metric a kind reports beyond the shared ones. /metrics names it `gateway_NAME`
    and puts `trigger`, `kind` and `function_name` before the kind's own `labels`."""

    name: str
    help: str
    type: Literal["gauge", "counter"]
    labels: tuple[str, ...] = ()


# One value of a Series: its label values, in the Series' order.
Sample = tuple[Series, tuple[str, ...], float]


@dataclass(frozen=True, kw_only=True)
class TriggerState:
    status: str  # connecting, running, stopped, ...
    error: str | None = None  # why it is not running, while it is not
    in_flight: int = 0  # events being delivered now
    processed: int = 0  # events finished: succeeded, or answered
    retried: int = 0  # extra attempts
    dead_lettered: int = 0
    lag: int | None = None  # events not yet acknowledged behind the newest; None: unknown
    stuck: int = 0  # partitions or subjects stopped at an event that could not be delivered

    HIDDEN: ClassVar[frozenset[str]] = frozenset()

    def hidden(self) -> frozenset[str]:
        return self.HIDDEN

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The state back from `to_dict()` (the admin API's JSON, as the CLI reads it);
        keys it does not know, from a newer gateway, are left out."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def samples(self) -> list[Sample]:
        """The kind's own series (none by default)."""
        return []

    def partition_count(self) -> int | None:
        """How many partitions the trigger holds, for kinds that have them."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON the admin API shows, without the fields the kind does not report."""
        hidden = self.hidden()
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}
