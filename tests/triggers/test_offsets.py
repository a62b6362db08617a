from __future__ import annotations

import random

import pytest

from triggers.offsets import OffsetTracker


def test_commits_only_past_a_contiguous_run_of_finished_offsets() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12, 13):
        tracker.start(offset)
    tracker.finish(12)
    assert tracker.committable is None  # 10 and 11 are still running
    tracker.finish(10)
    assert tracker.committable == 11
    tracker.finish(13)
    assert tracker.committable == 11  # 11 still blocks 12 and 13
    tracker.finish(11)
    assert tracker.committable == 14
    assert tracker.in_flight == 0


def test_any_finishing_order_ends_at_the_last_offset_and_never_passes_a_running_one() -> None:
    offsets = list(range(100, 300, 2))  # compacted topics leave gaps
    tracker = OffsetTracker()
    for offset in offsets:
        tracker.start(offset)
    order = offsets[:]
    random.Random(7).shuffle(order)
    running = set(offsets)
    for offset in order:
        tracker.finish(offset)
        running.discard(offset)
        if tracker.committable is not None and running:
            assert tracker.committable <= min(running)
    assert tracker.committable == offsets[-1] + 1


def test_offsets_must_start_in_partition_order() -> None:
    tracker = OffsetTracker()
    tracker.start(5)
    with pytest.raises(ValueError, match="offset 4 started after 5"):
        tracker.start(4)


def test_a_fetch_starts_and_a_run_finishes_together() -> None:
    tracker = OffsetTracker()
    tracker.start_all([0, 1, 2])
    tracker.start_all([3, 5, 6])  # a gap: a compacted or transactional topic
    tracker.finish_all([3, 5])
    assert tracker.committable is None  # 0-2 still running
    tracker.finish_all([0, 1, 2])
    assert tracker.committable == 6 and tracker.in_flight == 1
    with pytest.raises(ValueError, match="offset 6 started after 6"):
        tracker.start_all([6, 7])
    with pytest.raises(ValueError, match="offset 8 started after 9"):
        tracker.start_all([9, 8])
    assert tracker.in_flight == 1  # a rejected fetch starts none of its offsets
