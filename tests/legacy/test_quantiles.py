"""The histogram's quantiles against exact nearest-rank quantiles of the same samples."""

from __future__ import annotations

import math
import random

import pytest

from legacy.quantiles import LatencyHistogram


def exact(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@pytest.mark.parametrize("seed", range(40))
def test_quantiles_are_within_one_percent_of_the_exact_sample(seed: int) -> None:
    rng = random.Random(seed)
    # Latencies from 5 µs to minutes, in the shapes services show: log-normal, bimodal.
    scale = rng.choice([5e-6, 1e-4, 2e-3, 0.5, 30.0])
    samples = [scale * rng.lognormvariate(0, rng.choice([0.2, 1.0, 2.0])) for _ in range(2000)]
    if seed % 2:
        samples += [scale * 50 * rng.random() for _ in range(rng.randrange(1, 300))]
    histogram = LatencyHistogram()
    for sample in samples:
        histogram.add(sample)
    assert histogram.count == len(samples)
    for q in (0.01, 0.5, 0.9, 0.99, 1.0):
        got = histogram.quantile(q)
        want = max(exact(samples, q), 1e-6)
        assert got is not None
        assert abs(got - want) / want <= 0.0101, (q, got, want)


def test_no_samples_no_quantile() -> None:
    assert LatencyHistogram().quantile(0.5) is None


def test_one_sample_is_every_quantile() -> None:
    histogram = LatencyHistogram()
    histogram.add(0.25)
    assert histogram.quantile(0.01) == histogram.quantile(0.99) == pytest.approx(0.25, rel=0.01)
