from __future__ import annotations

import pytest

from runtime_adapters.histogram import LATENCY_BUCKETS, Histogram


def test_a_value_on_a_bound_counts_in_that_bucket_as_prometheus_le_does() -> None:
    histogram = Histogram((0.001, 0.01))
    for value in (0.001, 0.0011, 0.5):
        histogram.observe(value)
    assert histogram.cumulative() == [(0.001, 1), (0.01, 2), (float("inf"), 3)]
    assert histogram.count == 3


def test_quantiles_interpolate_inside_a_bucket_as_histogram_quantile_does() -> None:
    histogram = Histogram((1.0, 2.0, 4.0))
    histogram.observe(0.5, 10)  # (0, 1]
    histogram.observe(3.0, 10)  # (2, 4]
    assert histogram.quantile(0.25) == pytest.approx(0.5)  # rank 5 of 10 in (0, 1]
    assert histogram.quantile(0.75) == pytest.approx(3.0)  # rank 5 of 10 in (2, 4]
    assert histogram.quantile(1.0) == pytest.approx(4.0)
    histogram.observe(9.0)  # beyond every bound: the highest finite bound
    assert histogram.quantile(1.0) == 4.0
    assert Histogram().quantile(0.5) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        histogram.quantile(1.5)


def test_latency_buckets_start_below_a_millisecond_and_reach_the_longest_timeout() -> None:
    assert LATENCY_BUCKETS[0] <= 0.0001 and LATENCY_BUCKETS[-1] >= 900
    assert sum(1 for bound in LATENCY_BUCKETS if bound < 0.001) >= 3
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)
