"""The gaia.yaml keys of the limits, validated by configkit like every other key.

- `rate_limit: {rps, burst, redis}` on an alias or on a trigger: a token bucket that
  refills `rps` tokens a second up to `burst`; with `redis` every replica draws from
  one bucket there, without it each replica keeps its own.
- `concurrency_limit: {max, redis}` on a function: invocations in flight at once,
  across the replicas sharing `redis` (else in this replica).
- `circuit: {failures, error_rate, window, min_requests, cooldown}` on a function:
  when a revision's circuit opens, and for how long.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import field_serializer

from configkit.leaves import durations, optional, parsed, redis_url, whole_numbers
from configkit.model import ConfigModel, key
from configkit.words import describe

MAX_RPS = 1_000_000.0
MAX_BURST = 10_000_000
MAX_CONCURRENCY_LIMIT = 1_000_000


def _rate(raw: object) -> float:
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not math.isfinite(raw)
        or not 0 < raw <= MAX_RPS
    ):
        raise ValueError(
            f"expected requests per second, a number above 0 and at most {MAX_RPS:.0f},"
            f" got {describe(raw)}"
        )
    return float(raw)


def percent(raw: object) -> float:
    """`50%`, `12.5%` or a number from 0 to 100, as a fraction."""
    text = raw.strip() if isinstance(raw, str) else None
    value: object = raw
    if text is not None and text.endswith("%"):
        try:
            value = float(text[:-1])
        except ValueError:
            value = None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= 100
    ):
        raise ValueError(
            f"expected a percent above 0 and at most 100 like 50% or 12.5%, got {describe(raw)}"
        )
    return float(value) / 100


class RateLimit(ConfigModel):
    """`rate_limit: {rps: 100, burst: 200, redis: redis://host:6379/0}`."""

    rps: Annotated[float, parsed(_rate)]
    # None: one second's worth of requests (rps rounded up).
    burst: Annotated[int | None, parsed(optional(whole_numbers(1, MAX_BURST)))] = None
    redis: Annotated[str | None, parsed(optional(redis_url))] = None

    @property
    def capacity(self) -> int:
        """The bucket's size: `burst`, else one second's worth."""
        return self.burst if self.burst is not None else max(1, math.ceil(self.rps))

    def describe(self) -> str:
        return f"{self.rps:g} requests/s (burst {self.capacity})"


class ConcurrencyLimit(ConfigModel):
    """`concurrency_limit: {max: 100, redis: redis://host:6379/0}`."""

    max: Annotated[int, parsed(whole_numbers(1, MAX_CONCURRENCY_LIMIT))]
    redis: Annotated[str | None, parsed(optional(redis_url))] = None


class CircuitSpec(ConfigModel):
    """`circuit: {failures: 5, error_rate: 50%, window: 10s, min_requests: 20,
    cooldown: 30s}`: open after `failures` failures in a row, or when at least
    `min_requests` answers in the last `window` failed at `error_rate` or more; stay
    open for `cooldown`, then let one request probe. Envoy's outlier detection uses the
    same defaults for consecutive failures (5) and ejection time (30s)."""

    failures: Annotated[int, parsed(whole_numbers(1, 10_000))] = 5
    # A fraction; written, and stored, as a percent (`50%`).
    error_rate: Annotated[float, parsed(percent)] = 0.5
    window_s: Annotated[float, parsed(durations(3600.0))] = key("window", default=10.0)
    min_requests: Annotated[int, parsed(whole_numbers(1, 1_000_000))] = 20
    cooldown_s: Annotated[float, parsed(durations(3600.0))] = key("cooldown", default=30.0)

    @field_serializer("error_rate")
    def _as_percent(self, error_rate: float) -> str:
        return f"{error_rate * 100:g}%"


class RevisionLimits(ConfigModel):
    """The function-level keys of the limits, stored with each revision like `timeout`:
    changing one publishes a new revision."""

    circuit: CircuitSpec | None = None
    concurrency_limit: ConcurrencyLimit | None = None

    @property
    def empty(self) -> bool:
        return self.circuit is None and self.concurrency_limit is None
