"""What one cron trigger runs and when (gaia.yaml `- cron: {...}`).

gateway/config.py validates the YAML into this model (checking the schedule with
`triggers.cron.schedule.parse_schedule`); the store keeps `to_dict()` and the gateway
rebuilds it with `from_dict()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

Overlap = Literal["skip", "allow", "queue"]
OVERLAPS: tuple[Overlap, ...] = ("skip", "allow", "queue")


@dataclass(frozen=True, kw_only=True)
class CronTriggerConfig:
    # 5 fields, 6 with seconds first, `@every 30s`, or `@hourly`, `@daily`, ...
    schedule: str
    timezone: str = "UTC"
    payload: object = None  # any JSON value; the event's `data`
    # A tick noticed later than this after its time is recorded as missed, not run.
    misfire_grace_s: float = 1.0
    # Several ticks missed at once (the gateway was stopped or stalled) run once.
    coalesce: bool = True
    overlap: Overlap = "skip"  # when the previous run is still going
    jitter_s: float = 0.0  # a random delay up to this, after the scheduled time
    # redis://host:port/db: replicas given the same trigger run each tick once.
    lease: str | None = None
    retries: int = 2  # attempts after the first
    backoff_initial_s: float = 0.1
    backoff_max_s: float = 30.0

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "schedule": self.schedule,
            "timezone": self.timezone,
            "misfire_grace": self.misfire_grace_s,
            "coalesce": self.coalesce,
            "overlap": self.overlap,
            "jitter": self.jitter_s,
            "retries": self.retries,
            "backoff": {"initial": self.backoff_initial_s, "max": self.backoff_max_s},
        }
        if self.payload is not None:
            data["payload"] = self.payload
        if self.lease is not None:
            data["lease"] = self.lease
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CronTriggerConfig:
        """Rebuild from `to_dict()` output (already validated when it was stored)."""
        backoff = cast(Mapping[str, float], data.get("backoff") or {})
        return cls(
            schedule=str(data["schedule"]),
            timezone=str(data.get("timezone", "UTC")),
            payload=data.get("payload"),
            misfire_grace_s=float(cast(float, data.get("misfire_grace", 1.0))),
            coalesce=bool(data.get("coalesce", True)),
            overlap=cast(Overlap, data.get("overlap", "skip")),
            jitter_s=float(cast(float, data.get("jitter", 0.0))),
            lease=cast(str | None, data.get("lease")),
            retries=cast(int, data.get("retries", 2)),
            backoff_initial_s=float(backoff.get("initial", 0.1)),
            backoff_max_s=float(backoff.get("max", 30.0)),
        )
