from __future__ import annotations

import random
from bisect import bisect_left

from runtime_adapters.histogram import LATENCY_BUCKETS, Histogram


def test_a_value_on_a_bound_counts_in_that_bucket_as_prometheus_le_does() -> None:
    histogram = Histogram((0.001, 0.01))
    for value in (0.001, 0.0011, 0.5):
        histogram.observe(value)
    assert histogram.cumulative() == [(0.001, 1), (0.01, 2), (float("inf"), 3)]
    assert histogram.count == 3


def test_latency_buckets_start_below_a_millisecond_and_reach_the_longest_timeout() -> None:
    assert LATENCY_BUCKETS[0] <= 0.0001 and LATENCY_BUCKETS[-1] >= 900
    assert sum(1 for bound in LATENCY_BUCKETS if bound < 0.001) >= 3
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)


def test_each_value_counts_in_the_bucket_bisect_left_finds() -> None:
    # bisect_left as the oracle: values on, between, below and past the bounds, and
    # integer bounds (read as floats).
    rng = random.Random(3)
    for bounds in (LATENCY_BUCKETS, (1, 2, 5), (0.5,), ()):
        for _ in range(500):
            value = rng.choice(
                [rng.choice(bounds or (0.0,)), rng.uniform(-1, 1000), rng.uniform(0, 0.01)]
            )
            count = rng.randrange(1, 4)
            histogram = Histogram(bounds)
            histogram.observe(value, count)
            expected = [0] * (len(bounds) + 1)
            expected[bisect_left(bounds, value)] = count
            assert histogram.counts == expected, (bounds, value)
            assert histogram.total == value * count
