"""A Prometheus-style histogram as plain counts: filled on the event loop, read at scrape.

prometheus_client's own Histogram takes a lock and walks its label tuple on every
observation; the gateway's hot path holds one of these per revision and alias instead
(pre-bound, so an observation is a bisect and two additions). It lives beside the pools
because they fill some too (queue wait, instance start); /metrics turns them into
metric families.
"""

from __future__ import annotations

from collections.abc import Sequence

# Upper bounds in seconds: from 100 µs, since a warm Python function answers in a few
# hundred µs and coarser buckets would put all of it in the first one, up to the
# longest timeout a function may have (15 m).
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
)  # fmt: skip


class Histogram:
    """Counts per bucket (`le` bounds, the last slot +Inf) and their sum; not thread-safe:
    one event loop writes it."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float] = LATENCY_BUCKETS) -> None:
        # Floats, which the compiled bisection reads as C doubles.
        self.bounds = tuple(float(bound) for bound in bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float, count: int = 1) -> None:
        # The first bound not below the value (bisect_left's): a value equal to a bound
        # belongs to that bound's bucket (le). Bisected here rather than by calling
        # bisect_left, so that compiled it is a loop over C doubles (histogram.pxd).
        bounds = self.bounds
        low, high = 0, len(bounds)
        while low < high:
            middle = (low + high) >> 1
            bound: float = bounds[middle]
            if bound < value:
                low = middle + 1
            else:
                high = middle
        self.counts[low] += count
        self.total += value * count

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at most that), +Inf last, as Prometheus exposes."""
        running, rows = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            rows.append((bound, running))
        return rows
