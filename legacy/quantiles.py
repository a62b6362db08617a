"""Latency quantiles in bounded memory: a histogram with logarithmic buckets.

Every route keeps one per side, for as long as the gateway runs, so an exact sample
list would grow without end. Bucket edges grow by 2%, so a quantile read back is within
about 1% of the true sample at that rank, from a microsecond to an hour, in at most a
few hundred small counters.
"""

from __future__ import annotations

import math

_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
# Durations under a microsecond all land in the first bucket.
_FLOOR_S = 1e-6


class LatencyHistogram:
    __slots__ = ("_buckets", "count")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self.count = 0

    def add(self, seconds: float) -> None:
        index = 0 if seconds <= _FLOOR_S else int(math.log(seconds / _FLOOR_S) / _LOG_GROWTH)
        self._buckets[index] = self._buckets.get(index, 0) + 1
        self.count += 1

    def quantile(self, q: float) -> float | None:
        """The duration in seconds at quantile `q` (0 to 1), None before any sample.

        The rank is the nearest-rank definition (`ceil(q * n)`), as most monitoring
        systems report p50/p99; the value is the geometric middle of its bucket.
        """
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                return float(_FLOOR_S * _GROWTH ** (index + 0.5))
        raise AssertionError("ranks never pass the count")  # pragma: no cover
