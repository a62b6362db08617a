"""Deadlines on one loop timer fire as loop.call_later would, in deadline order, never
early, never when cancelled, and do not pile up while invocations finish in time."""

from __future__ import annotations

import asyncio
import random

from runtime_adapters.deadlines import Deadlines


async def test_each_fires_once_at_or_after_its_deadline_in_deadline_order() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    fired: list[tuple[int, float]] = []
    done = asyncio.Event()
    rng = random.Random(7)
    delays = [rng.uniform(0.0, 0.15) for _ in range(40)]

    def fire(n: int) -> None:
        fired.append((n, loop.time()))
        if len(fired) == len(delays):
            done.set()

    # Registered out of deadline order.
    due = {n: deadlines.call_later(delay, fire, n).when for n, delay in enumerate(delays)}
    await asyncio.wait_for(done.wait(), 5)
    assert sorted(n for n, _ in fired) == list(range(len(delays)))
    assert all(at >= due[n] for n, at in fired)
    order = [n for n, _ in fired]
    assert order == sorted(order, key=lambda n: due[n])


async def test_an_earlier_deadline_registered_later_is_not_kept_waiting() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    early = asyncio.Event()
    deadlines.call_later(30.0, lambda: None)
    started = loop.time()
    deadlines.call_later(0.05, early.set)
    await asyncio.wait_for(early.wait(), 5)
    assert loop.time() - started < 1.0


async def test_a_cancelled_deadline_never_fires_and_the_others_still_do() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    fired: list[str] = []
    last = asyncio.Event()
    deadlines.call_later(0.02, fired.append, "first").cancel()
    deadlines.call_later(0.04, fired.append, "second")
    deadlines.call_later(0.06, last.set)
    await asyncio.wait_for(last.wait(), 5)
    await asyncio.sleep(0.05)
    assert fired == ["second"]


async def test_a_callback_that_raises_is_reported_and_does_not_stop_the_rest() -> None:
    loop = asyncio.get_running_loop()
    reported: list[object] = []
    loop.set_exception_handler(lambda _, context: reported.append(context.get("exception")))
    try:
        deadlines = Deadlines(loop)
        after = asyncio.Event()

        def boom() -> None:
            raise ValueError("boom")

        deadlines.call_later(0.01, boom)
        deadlines.call_later(0.01, after.set)
        await asyncio.wait_for(after.wait(), 5)
        assert [type(e) for e in reported] == [ValueError]
    finally:
        loop.set_exception_handler(None)


async def test_deadlines_cancelled_in_time_do_not_accumulate() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    for _ in range(10_000):  # each invocation finishes long before its timeout
        deadlines.call_later(10.0, lambda: None).cancel()
    assert deadlines.pending() <= 1


async def test_fired_tells_a_deadline_that_passed_from_one_cancelled() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    passed = deadlines.call_later(0.01, lambda: None)
    kept = deadlines.call_later(0.01, lambda: None)
    kept.cancel()
    await asyncio.sleep(0.05)
    assert (passed.fired, kept.fired) == (True, False)
