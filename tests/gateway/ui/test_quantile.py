"""Quantiles from histogram buckets, held to the exact quantiles of generated latencies:
Prometheus' estimate must fall in the bucket that holds the exact one (the rank-th
smallest observation), since that is all the buckets can know."""

from __future__ import annotations

import math
from bisect import bisect_left

from hypothesis import given
from hypothesis import strategies as st

from gateway.ui.quantile import bucket_quantile, difference
from runtime_adapters.histogram import LATENCY_BUCKETS as BUCKETS

BOUNDS = (*map(float, BUCKETS), math.inf)


def cumulative(latencies: list[float]) -> list[tuple[float, int]]:
    counts = [0] * len(BOUNDS)
    for seconds in latencies:
        counts[bisect_left(BOUNDS, seconds)] += 1  # `le`: a bound's own value is in it
    running, buckets = 0, []
    for bound, count in zip(BOUNDS, counts, strict=True):
        running += count
        buckets.append((bound, running))
    return buckets


latencies = st.lists(
    st.floats(min_value=0, max_value=60, allow_nan=False).filter(lambda s: s > 0),
    min_size=1,
    max_size=200,
)


@given(latencies, st.sampled_from([0.5, 0.95, 0.99]))
def test_the_estimate_falls_in_the_bucket_of_the_exact_quantile(
    observed: list[float], q: float
) -> None:
    exact = sorted(observed)[max(1, math.ceil(q * len(observed))) - 1]
    bucket = bisect_left(BOUNDS, exact)
    lower = BOUNDS[bucket - 1] if bucket else 0.0
    estimate = bucket_quantile(q, cumulative(observed))
    assert estimate is not None
    if math.isinf(BOUNDS[bucket]):
        assert estimate == BOUNDS[-2]  # past the last bound: the largest it can name
    else:
        assert lower <= estimate <= BOUNDS[bucket]


def test_the_estimate_interpolates_inside_a_bucket_as_prometheus_does() -> None:
    # 10 observations in (0.001, 0.0025]: the median is halfway through that bucket.
    buckets = cumulative([0.002] * 10)
    assert bucket_quantile(0.5, buckets) == 0.001 + (0.0025 - 0.001) * 0.5


def test_nothing_observed_has_no_quantile() -> None:
    assert bucket_quantile(0.5, cumulative([])) is None
    assert bucket_quantile(0.5, []) is None


@given(latencies, latencies)
def test_the_difference_of_two_readings_is_what_came_between(
    first: list[float], then: list[float]
) -> None:
    assert difference(cumulative(first + then), cumulative(first)) == cumulative(then)
