"""Quantiles of a latency histogram, estimated as Prometheus' histogram_quantile does."""

from __future__ import annotations

import math
from collections.abc import Sequence

Buckets = Sequence[tuple[float, int]]  # cumulative (upper bound, count), +Inf last


def bucket_quantile(q: float, buckets: Buckets) -> float | None:
    """The `q` quantile (0..1), interpolated linearly inside the bucket that holds it;
    in the +Inf bucket, the highest finite bound. None when nothing was observed."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0
    for bound, count in buckets:
        if count >= rank and count > below:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def difference(now: Buckets, before: Buckets) -> list[tuple[float, int]]:
    """The observations between two readings of the same cumulative histogram."""
    earlier = dict(before)
    return [(bound, count - earlier.get(bound, 0)) for bound, count in now]
