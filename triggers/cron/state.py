"""What a running cron trigger reports (see triggers.state): its schedule, its next
tick, and how its ticks ended. Cron has no dead letter and no backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from triggers.state import Sample, Series, TriggerState

RUNS = Series(
    name="cron_runs",
    help="Ticks this replica decided, by outcome: succeeded, failed, skipped (the previous"
    " run was still going), missed (noticed too late)",
    type="counter",
    labels=("outcome",),
)
DELAY = Series(
    name="cron_delay_seconds",
    help="How long after its scheduled time the newest run this replica started began",
    type="gauge",
)
NEXT = Series(
    name="cron_next_run_timestamp_seconds",
    help="When the next tick is due, in seconds since the epoch",
    type="gauge",
)


@dataclass(frozen=True, kw_only=True)
class CronState(TriggerState):
    schedule: str
    timezone: str
    lease: str  # redis (shared by replicas) or local
    replica: str
    next: str | None  # the next tick, ISO 8601
    failed: int = 0
    skipped: int = 0  # the previous run was still going
    missed: int = 0  # noticed too late
    run_elsewhere: int = 0  # another replica claimed the tick
    # Seconds from the scheduled time to the start of the newest run started here.
    last_delay_s: float | None = None

    HIDDEN: ClassVar[frozenset[str]] = frozenset({"retried", "dead_lettered", "lag", "stuck"})

    def samples(self) -> list[Sample]:
        samples: list[Sample] = [
            (RUNS, (outcome,), count)
            for outcome, count in (
                ("succeeded", self.processed),
                ("failed", self.failed),
                ("skipped", self.skipped),
                ("missed", self.missed),
            )
        ]
        if self.last_delay_s is not None:
            samples.append((DELAY, (), self.last_delay_s))
        if self.next is not None:
            samples.append((NEXT, (), datetime.fromisoformat(self.next).timestamp()))
        return samples
