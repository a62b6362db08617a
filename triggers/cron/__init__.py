"""Cron triggers: ticks of a schedule, each run once across replicas (`- cron: {...}`)."""

from __future__ import annotations

from triggers.cron.config import CronTriggerConfig
from triggers.cron.state import CronState
from triggers.kind import TriggerKind


def _identity(function: str, config: CronTriggerConfig) -> str:
    return f"cron {config.schedule} {config.timezone}"


KIND = TriggerKind(
    name="cron",
    description="ticks of a cron schedule, each run once across replicas",
    state=CronState,
    config=CronTriggerConfig,
    subscriber="triggers.cron.subscriber:build",
    history=True,
    commands=("triggers.cron.cli:next_runs",),
    identity=_identity,
    source=lambda spec: f"{spec['schedule']} ({spec['timezone']})",
    details=("next", "lease", "replica", "skipped", "missed", "failed", "run_elsewhere"),
)
