"""A bounded ring of per-revision samples: request rate, error ratio, p50 and p95.

Every `interval_s` the sampler reads each revision's running totals (RevisionCounters)
and keeps the difference from the previous reading as one sample; a ring holds the last
`window_s` of them. Nothing runs per request: the data plane counts as it always does,
and the sampler reads those counts on its own clock. A revision with no request in the
whole window has its ring dropped, so memory follows the revisions that are in use.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.ui.counters import RevisionCounters, RevisionId, RevisionTotals
from gateway.ui.quantile import bucket_quantile, difference

INTERVAL_S = 5.0
WINDOW_S = 15 * 60.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    t: float  # wall-clock seconds at the end of the interval
    requests_per_s: float
    error_ratio: float | None  # 5xx answers / requests; None without requests
    p50_ms: float | None
    p95_ms: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "t": self.t,
            "requests_per_s": self.requests_per_s,
            "error_ratio": self.error_ratio,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
        }


def sample_between(
    now: RevisionTotals, before: RevisionTotals, *, seconds: float, t: float
) -> Sample:
    requests = now.requests - before.requests
    errors = now.errors - before.errors
    observed = difference(now.buckets, before.buckets)
    p50, p95 = bucket_quantile(0.5, observed), bucket_quantile(0.95, observed)
    return Sample(
        t=t,
        requests_per_s=requests / seconds if seconds > 0 else 0.0,
        error_ratio=errors / requests if requests > 0 else None,
        p50_ms=p50 * 1000 if p50 is not None else None,
        p95_ms=p95 * 1000 if p95 is not None else None,
    )


class Sampler:
    def __init__(
        self,
        counters: RevisionCounters,
        *,
        interval_s: float = INTERVAL_S,
        window_s: float = WINDOW_S,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counters = counters
        self.interval_s = interval_s
        self.window_s = window_s
        self._size = max(1, round(window_s / interval_s))
        self._wall = wall
        self._monotonic = monotonic
        self._rings: dict[RevisionId, deque[Sample]] = {}
        self._previous: Mapping[RevisionId, RevisionTotals] | None = None
        self._previous_at = 0.0

    def sample(self) -> dict[RevisionId, Sample]:
        """Read the counters once; the new sample of each revision in use (none on the
        first reading, which only sets where the next one counts from)."""
        totals, at = self._counters.totals(), self._monotonic()
        previous, self._previous = self._previous, totals
        seconds, self._previous_at = at - self._previous_at, at
        if previous is None:
            return {}
        t = self._wall()
        empty = RevisionTotals()
        new: dict[RevisionId, Sample] = {}
        for key, now in totals.items():
            before = previous.get(key, empty)
            if now.requests < before.requests:
                before = empty  # counted afresh (the counters were reset)
            ring = self._rings.get(key)
            if now.requests == before.requests and ring is None:
                continue  # idle, and nothing to show for it
            point = sample_between(now, before, seconds=seconds, t=t)
            if ring is None:
                ring = self._rings[key] = deque(maxlen=self._size)
            ring.append(point)
            new[key] = point
        gone = [k for k, ring in self._rings.items() if k not in totals or _idle(ring, self._size)]
        for key in gone:
            del self._rings[key]
            new.pop(key, None)
        return new

    def series(self) -> dict[RevisionId, list[Sample]]:
        return {key: list(ring) for key, ring in self._rings.items()}

    async def run(self, on_sample: Callable[[dict[RevisionId, Sample]], None]) -> None:
        """Sample every interval until cancelled, handing each round to `on_sample`."""
        self.sample()
        while True:
            await asyncio.sleep(self.interval_s)
            on_sample(self.sample())


def _idle(ring: deque[Sample], full: int) -> bool:
    return len(ring) == full and not any(s.requests_per_s for s in ring)
