"""The per-request half of a warm pool (runtime_adapters/slots.py), above the instances'
interface (`PooledInstance`'s plain attributes): which slot is taken, when the pool is
asked to finish a release, and what the wait estimate learns from a lent slot. The
pools' own tests (python/test_pool.py, python/test_lease.py, container/test_lease.py)
run it with real instances; run pure and compiled by scripts/test."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest

from runtime_adapters.admission import WaitEstimate
from runtime_adapters.slots import SlotCounts, Slots


class _Instance(SlotCounts):
    # An instance's class subclasses SlotCounts (its fields C fields compiled), as the
    # runtimes' instances do.
    def __init__(self, name: str) -> None:
        self.name = name
        self.in_flight = 0
        self.last_used = 0.0
        self.state = "ready"


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class _Setup:
    clock: _Clock = field(default_factory=_Clock)
    waiters: deque[object] = field(default_factory=deque)
    settled: list[_Instance] = field(default_factory=list)
    instances: list[_Instance] = field(default_factory=lambda: [_Instance("a"), _Instance("b")])

    def slots(self) -> Slots:
        return Slots(
            ready=self.instances,
            waiters=self.waiters,
            concurrency=2,
            estimate=WaitEstimate(self.clock),
            clock=self.clock,
            settle=self.settled.append,
        )


def test_slots_are_taken_from_the_first_instances_up_to_their_concurrency() -> None:
    setup = _Setup()
    slots = setup.slots()
    taken = [slots.take() for _ in range(5)]
    a, b = setup.instances
    assert taken == [a, a, b, b, None]
    assert (a.in_flight, b.in_flight) == (2, 2)
    slots.release(b)
    assert slots.take() is b


def test_nothing_is_taken_past_queued_work_or_from_a_retiring_pool() -> None:
    setup = _Setup()
    slots = setup.slots()
    setup.waiters.append(object())
    assert slots.take() is None
    assert slots.pick() is setup.instances[0]  # the pool's own hand-over may still pick
    setup.waiters.clear()
    slots.closed = True
    assert slots.take() is None
    assert setup.instances[0].in_flight == 1


@pytest.mark.parametrize("pending", ["nothing", "waiters", "closed", "draining"])
def test_the_pool_finishes_a_release_only_when_there_is_more_to_do(pending: str) -> None:
    setup = _Setup()
    slots = setup.slots()
    instance = slots.take()
    setup.clock.now = 107.5
    if pending == "waiters":
        setup.waiters.append(object())
    elif pending == "closed":
        slots.closed = True
    elif pending == "draining":
        instance.state = "draining"
    slots.release(instance)
    assert (instance.in_flight, instance.last_used) == (0, 107.5)
    assert setup.settled == ([] if pending == "nothing" else [instance])


@pytest.mark.parametrize("queued", [False, True])
def test_an_answered_lease_is_a_completion_for_the_wait_estimate(queued: bool) -> None:
    """Side by side with a WaitEstimate told the same completions as an invocation tells
    it (`completed(sent_at, queued=...)`); a lease without an answer tells it nothing."""
    setup = _Setup()
    slots = setup.slots()
    oracle = WaitEstimate(setup.clock)
    for step, (sent_at, ended_at, answered) in enumerate(
        [(100.0, 100.2, True), (100.1, 100.9, False), (100.3, 100.5, True), (100.6, 101.6, True)]
    ):
        instance = slots.take()
        if queued and step:
            setup.waiters.append(object())  # others waiting when it ends
        setup.clock.now = ended_at
        slots.lent_back(instance, sent_at, answered)
        if answered:
            oracle.completed(sent_at, queued=bool(setup.waiters))
        setup.waiters.clear()
        for ahead, slot_count in [(0, 1), (3, 4), (9, 2)]:
            assert slots.estimate.expected_wait(ahead, slot_count) == pytest.approx(
                oracle.expected_wait(ahead, slot_count)
            )
    assert slots.estimate.expected_wait(0, 1) > 0
