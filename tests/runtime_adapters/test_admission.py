"""The expected-wait estimate behind admission, driven by a fake clock."""

from __future__ import annotations

import heapq
import random
import statistics
from collections import deque

import pytest

from runtime_adapters.admission import WaitEstimate, retry_after
from tests.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def estimate(clock: Clock) -> WaitEstimate:
    return WaitEstimate(clock)


def finish(estimate: WaitEstimate, clock: Clock, *, took: float, queued: bool) -> None:
    """An invocation that started `took` seconds before the clock's time answers now."""
    estimate.completed(clock.now - took, queued=queued)


def queued_answers(
    estimate: WaitEstimate, clock: Clock, count: int, *, every: float, took: float
) -> None:
    """`count` answers `every` seconds apart, each with others queued behind it."""
    for _ in range(count):
        clock.now += every
        finish(estimate, clock, took=took, queued=True)


def test_with_nothing_finished_nothing_is_expected_to_wait(estimate: WaitEstimate) -> None:
    assert estimate.expected_wait(ahead=1_000, slots=8) == 0.0


def test_before_any_queue_the_service_time_is_shared_by_the_slots(
    clock: Clock, estimate: WaitEstimate
) -> None:
    finish(estimate, clock, took=0.080, queued=False)
    # 8 slots each free up every 80 ms: one queue position per 10 ms.
    assert estimate.expected_wait(ahead=0, slots=8) == pytest.approx(0.010)
    assert estimate.expected_wait(ahead=99, slots=8) == pytest.approx(1.0)
    assert estimate.expected_wait(ahead=99, slots=0) == 0.0


def test_under_a_queue_the_measured_pace_wins_over_the_service_time(
    clock: Clock, estimate: WaitEstimate
) -> None:
    # Answers take 80 ms, which 8 slots in parallel would make one every 10 ms; but the
    # slots share a core (CPU-bound code), and the queue moves once every 40 ms.
    queued_answers(estimate, clock, 50, every=0.040, took=0.080)
    assert estimate.expected_wait(ahead=9, slots=8) == pytest.approx(0.4)


def test_idle_time_between_queues_is_not_taken_for_slowness(
    clock: Clock, estimate: WaitEstimate
) -> None:
    queued_answers(estimate, clock, 20, every=0.005, took=0.001)
    finish(estimate, clock, took=0.001, queued=False)  # the queue emptied
    clock.now += 60.0  # a quiet minute
    queued_answers(estimate, clock, 2, every=0.005, took=0.001)
    assert estimate.expected_wait(ahead=0, slots=1) == pytest.approx(0.005)


def test_the_estimate_follows_a_change_of_pace_within_tens_of_answers(
    clock: Clock, estimate: WaitEstimate
) -> None:
    queued_answers(estimate, clock, 100, every=0.001, took=0.008)
    assert estimate.expected_wait(ahead=0, slots=8) == pytest.approx(0.001)
    seen = []
    for _ in range(40):  # the function got ten times slower
        queued_answers(estimate, clock, 1, every=0.010, took=0.080)
        seen.append(estimate.expected_wait(ahead=0, slots=8))
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(0.010, rel=0.05)


@pytest.mark.parametrize("seed", range(6))
def test_the_estimate_predicts_the_wait_of_a_simulated_saturated_pool(seed: int) -> None:
    """A pool of `slots` with random service times under a steady overload, simulated
    event by event: the wait each arrival was told to expect against the wait it had."""
    rng = random.Random(seed)
    clock = Clock()
    estimate = WaitEstimate(clock)
    slots = rng.choice([1, 4, 8, 32])
    mean_service = rng.choice([0.001, 0.02, 0.5])

    def service() -> float:
        return rng.expovariate(1 / mean_service)

    arrival_gap = mean_service / slots / 1.2  # 20% more arrivals than the pool serves
    running: list[tuple[float, float]] = []  # heap of (finish time, start time)
    queue: deque[tuple[float, float]] = deque()  # (arrival time, the wait it was told)
    told_and_had: list[tuple[float, float]] = []
    next_arrival = clock.now
    while len(told_and_had) < 4_000:
        if running and running[0][0] <= next_arrival:
            clock.now, started = heapq.heappop(running)
            finish(estimate, clock, took=clock.now - started, queued=bool(queue))
            if queue:
                arrived, told = queue.popleft()
                told_and_had.append((told, clock.now - arrived))
                heapq.heappush(running, (clock.now + service(), clock.now))
        else:
            clock.now = next_arrival
            next_arrival += arrival_gap
            if len(running) < slots:
                heapq.heappush(running, (clock.now + service(), clock.now))
            else:
                queue.append((clock.now, estimate.expected_wait(len(queue), slots)))
    settled = told_and_had[len(told_and_had) // 2 :]
    errors = [(told - had) / had for told, had in settled]
    # Unbiased, and for most arrivals close: an average of ten random intervals is noisy.
    assert abs(statistics.mean(errors)) <= 0.05
    assert statistics.median(abs(e) for e in errors) <= 0.25


@pytest.mark.parametrize(
    ("expected", "deadline", "seconds"),
    [(12.2, 10.0, 3), (10.5, 10.0, 1), (3.0, 10.0, 1), (100.0, 1.0, 99)],
)
def test_retry_after_is_when_a_new_arrival_would_start_in_time(
    expected: float, deadline: float, seconds: int
) -> None:
    assert retry_after(expected, deadline) == seconds
