"""The sampler over the gateway's real metrics collector, on a clock the test turns."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from gateway.metrics import Metrics
from gateway.ui.counters import CollectorCounters, RevisionId, RevisionTotals
from gateway.ui.sampler import Sample, Sampler
from tests.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(1_000.0)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


def sampler(metrics: Metrics, clock: Clock, *, window_s: float = 900.0) -> Sampler:
    return Sampler(
        CollectorCounters(metrics), interval_s=5.0, window_s=window_s, wall=clock, monotonic=clock
    )


def test_a_sample_is_the_rate_error_ratio_and_latency_of_its_interval(
    metrics: Metrics, clock: Clock
) -> None:
    metrics.child("shop", 1, "prod").observe(200, 0.002, 100)  # before: not in any sample
    s = sampler(metrics, clock)
    assert s.sample() == {}  # the first reading only sets the start
    metrics.child("shop", 1, "prod").observe(200, 0.002, 36)
    metrics.child("shop", 1, "canary").observe(500, 0.2, 4)
    clock.now += 4.0
    [(key, point)] = s.sample().items()
    assert key == ("shop", 1)
    assert point.t == clock.now
    assert point.requests_per_s == 40 / 4.0
    assert point.error_ratio == 4 / 40
    # 36 of 40 in (1 ms, 2.5 ms]: p50 there; p95 among the 4 slow ones in (100, 250 ms].
    assert point.p50_ms is not None and 1.0 < point.p50_ms <= 2.5
    assert point.p95_ms is not None and 100.0 < point.p95_ms <= 250.0


def test_an_idle_interval_is_a_zero_once_a_revision_has_a_series(
    metrics: Metrics, clock: Clock
) -> None:
    s = sampler(metrics, clock)
    s.sample()
    metrics.child("shop", 1, "prod").observe(200, 0.002)
    metrics.child("cold", 1, "prod").observe(200, 0.002)
    s.sample()
    clock.now += 5.0
    s.sample()  # neither served anything
    series = s.series()
    assert [p.requests_per_s for p in series[("shop", 1)]][-1] == 0.0
    assert series[("shop", 1)][-1].error_ratio is None  # no request: no ratio to speak of
    assert series[("shop", 1)][-1].p50_ms is None


def test_the_ring_keeps_the_window_and_drops_a_revision_idle_for_all_of_it(
    metrics: Metrics, clock: Clock
) -> None:
    s = sampler(metrics, clock, window_s=30.0)  # 6 samples
    s.sample()
    for _ in range(10):
        metrics.child("shop", 1, "prod").observe(200, 0.002)
        clock.now += 5.0
        s.sample()
    points = s.series()[("shop", 1)]
    assert len(points) == 6
    assert [p.t for p in points] == [clock.now - 5.0 * n for n in range(5, -1, -1)]
    for _ in range(5):
        clock.now += 5.0
        s.sample()
    assert ("shop", 1) in s.series()  # one interval with traffic is still in the window
    clock.now += 5.0
    s.sample()
    assert s.series() == {}


class Resetting:
    """Counters that start again from zero (a collector replaced at runtime)."""

    def __init__(self) -> None:
        self.requests = 0

    def totals(self) -> Mapping[RevisionId, RevisionTotals]:
        return {("shop", 1): RevisionTotals(requests=self.requests)}


def test_counters_that_go_back_count_afresh_rather_than_negative(clock: Clock) -> None:
    counters = Resetting()
    s = Sampler(counters, interval_s=5.0, window_s=60.0, wall=clock, monotonic=clock)
    counters.requests = 50
    s.sample()
    counters.requests = 10
    clock.now += 5.0
    assert s.sample()[("shop", 1)].requests_per_s == 10 / 5.0


async def test_run_hands_each_round_to_its_callback(metrics: Metrics) -> None:
    s = Sampler(CollectorCounters(metrics), interval_s=0.01, window_s=1.0)
    rounds: asyncio.Queue[dict[RevisionId, Sample]] = asyncio.Queue()
    task = asyncio.create_task(s.run(rounds.put_nowait))
    try:
        assert await asyncio.wait_for(rounds.get(), 5) == {}  # nothing served yet
        metrics.child("shop", 1, "prod").observe(200, 0.002)
        async with asyncio.timeout(5):
            while ("shop", 1) not in await rounds.get():
                pass
    finally:
        task.cancel()
