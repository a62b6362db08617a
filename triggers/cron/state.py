"""What a running cron trigger reports (see triggers.state): its schedule, its next
tick, and how its ticks ended. Cron has no dead letter and no backlog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from triggers.state import TriggerState


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

    HIDDEN: ClassVar[frozenset[str]] = frozenset({"retried", "dead_lettered", "lag", "stuck"})
