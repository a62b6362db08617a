"""The function log rings: bounded, filtered, followed; nobody following costs nothing."""

from __future__ import annotations

import asyncio
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from gateway.logs import (
    FOLLOWER_BACKLOG,
    FunctionLogs,
    LogFilter,
    LogRecord,
    LogTime,
    log_time,
    stamped,
)


def _line(n: int, **more: object) -> LogRecord:
    at = log_time(time.time())
    return {"time": at, "function": "hello", "revision": 1, "level": "info", "n": n, **more}


def test_a_ring_keeps_the_newest_lines_of_each_function_only() -> None:
    logs = FunctionLogs(capacity=3)
    for n in range(5):
        logs.publish(_line(n))
    logs.publish({"function": "other", "n": 9})
    logs.publish({"message": "about no function"})
    assert [r["n"] for r in logs.recent("hello", LogFilter())] == [2, 3, 4]
    assert [r["n"] for r in logs.recent("other", LogFilter())] == [9]
    assert logs.recent("ghost", LogFilter()) == []
    with pytest.raises(ValueError, match="at least 1"):
        FunctionLogs(capacity=0)
    default = FunctionLogs()
    for n in range(1005):
        default.publish(_line(n))
    assert [r["n"] for r in default.recent("hello", LogFilter())] == list(range(5, 1005))


def test_filters_by_revision_level_and_age() -> None:
    logs = FunctionLogs()
    logs.publish(_line(1, level="debug"))
    logs.publish(_line(2, level="warning", revision=2))
    logs.publish(_line(3, level="error"))
    logs.publish(_line(4, level=None))  # a line without a level counts as info
    assert [r["n"] for r in logs.recent("hello", LogFilter(level="warning"))] == [2, 3]
    assert [r["n"] for r in logs.recent("hello", LogFilter(level="info"))] == [2, 3, 4]
    assert [r["n"] for r in logs.recent("hello", LogFilter(revision=2))] == [2]
    assert logs.recent("hello", LogFilter(since=time.time() + 60)) == []
    assert len(logs.recent("hello", LogFilter(since=time.time() - 60))) == 4
    old = _line(5, time=log_time(time.time() - 600))
    logs.publish(old)
    assert old not in logs.recent("hello", LogFilter(since=time.time() - 60))
    assert old in logs.recent("hello", LogFilter(since=time.time() - 601))
    with pytest.raises(ValueError, match="expected one of debug, info, warning"):
        LogFilter(level="loud")


async def test_a_follower_gets_the_kept_lines_then_new_ones_and_leaves_no_trace() -> None:
    logs = FunctionLogs()
    logs.bind(asyncio.get_running_loop())
    logs.publish(_line(1))
    batches: list[list[object]] = []

    async def follow() -> None:
        async for batch in logs.follow("hello", LogFilter(level="info")):
            batches.append([record["n"] for record in batch])
            if len(batches) == 2:
                return

    task = asyncio.create_task(follow())
    await asyncio.sleep(0)  # the task runs up to its first wait: it follows now
    assert logs.followers() == {"hello": 1}
    logs.publish(_line(2, level="debug"))  # below the follower's level
    logs.publish({"function": "other", "n": 0})
    logs.publish(_line(3))
    await asyncio.sleep(0)
    logs.publish(_line(4))  # within the tick of the first new line: the same batch
    await asyncio.wait_for(task, 5)
    assert batches == [[1], [3, 4]]
    assert logs.followers() == {}, "a follower that stopped is forgotten"


async def test_a_slow_follower_loses_lines_and_is_told_how_many() -> None:
    logs = FunctionLogs()
    logs.bind(asyncio.get_running_loop())
    stream = logs.follow("hello", LogFilter())
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    for n in range(FOLLOWER_BACKLOG + 500):  # more than it holds, while it does not read
        logs.publish(_line(n))
    received = await first
    kept = [r["n"] for r in received[:-1]]
    assert kept == list(range(FOLLOWER_BACKLOG)), "the kept lines, then the gap"
    warning = received[-1]
    assert warning["level"] == "warning" and "500 lines were dropped" in str(warning["message"])
    logs.publish(_line(2000))
    assert [r["n"] for r in await anext(stream)] == [2000], "and on from there"
    await stream.aclose()
    assert logs.followers() == {}


async def test_lines_from_another_thread_reach_the_ring_through_the_loop() -> None:
    logs = FunctionLogs()
    logs.bind(asyncio.get_running_loop())
    await asyncio.to_thread(logs.publish, _line(1))
    await asyncio.sleep(0)
    assert [r["n"] for r in logs.recent("hello", LogFilter())] == [1]


def test_nobody_following_costs_the_ring_alone_no_memory_grows() -> None:
    logs = FunctionLogs(capacity=100)
    lines = [_line(n) for n in range(10_000)]
    for line in lines[:100]:
        logs.publish(line)  # the ring is full: from now on each line replaces one
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for line in lines[100:]:
            logs.publish(line)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 16 * 1024, f"{grown} bytes kept for 9,900 lines nobody follows"


def test_times_are_rfc3339_utc_to_the_microsecond() -> None:
    for epoch in (0.0, 1795770000.125, 1795770000.5, 1795770000.999999, 1795770001.0000004):
        assert log_time(epoch) == datetime.fromtimestamp(epoch, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
    rng = random.Random(3339)
    for _ in range(2000):  # any time: within the microsecond datetime itself would give
        epoch = rng.uniform(0, 4e9)
        parsed = datetime.fromisoformat(log_time(epoch))
        assert parsed.utcoffset() == timedelta(0)
        assert abs(parsed.timestamp() - epoch) <= 1e-6, epoch


def test_a_kept_clock_rounds_each_microsecond_as_a_fresh_one_does() -> None:
    # A fresh LogTime computes every time from scratch with round(); the kept one reuses
    # its second and rounds half to even by hand. Exact halves of a microsecond, times
    # just before the kept second and the last half microsecond of a second are where
    # the two could part.
    rng = random.Random(1795)
    kept = LogTime()
    halves = 0
    for _ in range(300):
        second = float(rng.randrange(1_700_000_000, 1_900_000_000))
        kept(second)
        # Near 2**31 a time is a multiple of 2**-22 s, 15625/65536 of a microsecond: an
        # exact half is an odd multiple of 1/128 s.
        offsets = [(2 * rng.randrange(64) + 1) / 128 for _ in range(20)]
        offsets += [rng.uniform(0, 1) for _ in range(40)]
        offsets += [-rng.uniform(0, 1e-6) for _ in range(10)]
        offsets += [1 - rng.uniform(0, 1e-6) for _ in range(10)]
        for offset in offsets:
            epoch = second + offset
            halves += ((epoch - second) * 1e6) % 1 == 0.5
            assert kept(epoch) == LogTime()(epoch), epoch
            kept(second)  # back to this second for the next
    assert halves >= 300 * 20, "the exact halves the rounding is about were reached"


def test_a_runtime_line_gets_its_time_first() -> None:
    written: list[LogRecord] = []
    stamped(written.append)({"function": "f", "line": "hi"})
    assert list(written[0]) == ["time", "function", "line"]
