from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.triggers.kit import eventually
from triggers.ordering import KeyedRunner


async def test_same_key_runs_in_order_other_keys_in_parallel() -> None:
    runner = KeyedRunner(max_in_flight=8)
    seen: list[tuple[str, int]] = []
    running = 0
    peak = 0

    def job(key: str, n: int, delay: float) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(delay)
            seen.append((key, n))
            running -= 1

        return work

    # Key "a"'s first event is the slowest: "a" must still finish 0, 1, 2 in order.
    for n, delay in enumerate((0.05, 0.0, 0.01)):
        await runner.submit("a", job("a", n, delay))
    for n in range(3):
        await runner.submit("b", job("b", n, 0.0))
    await runner.drain()
    assert [n for key, n in seen if key == "a"] == [0, 1, 2]
    assert [n for key, n in seen if key == "b"] == [0, 1, 2]
    assert seen.index(("b", 2)) < seen.index(("a", 0))  # b did not wait for a
    assert peak >= 2


async def test_max_in_flight_bounds_running_work_and_max_queued_bounds_submit() -> None:
    runner = KeyedRunner(max_in_flight=2, max_queued=3)
    gate = asyncio.Event()
    started = 0

    async def blocked() -> None:
        nonlocal started
        started += 1
        await gate.wait()

    for key in (1, 2, 3):
        await runner.submit(key, blocked)  # room for three queued
    fourth = asyncio.create_task(runner.submit(4, blocked))
    await asyncio.sleep(0.01)
    assert started == 2, "only max_in_flight run at once"
    assert not fourth.done(), "submit waits while max_queued are queued"
    gate.set()
    await asyncio.wait_for(fourth, 1)
    await runner.drain()
    assert started == 4 and runner.queued == 0


async def test_a_long_queue_on_one_key_does_not_hold_up_other_keys() -> None:
    runner = KeyedRunner(max_in_flight=4)
    gate = asyncio.Event()
    order: list[str] = []

    async def slow() -> None:
        await gate.wait()
        order.append("a")

    async def quick() -> None:
        order.append("b")

    for _ in range(100):
        await runner.submit("a", slow)
    await runner.submit("b", quick)
    await eventually(lambda: order == ["b"], within=1, what="b to run before a's queue")
    gate.set()
    await runner.drain()
    assert order == ["b"] + ["a"] * 100


async def test_a_failing_piece_of_work_is_logged_and_its_key_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = KeyedRunner(max_in_flight=4)
    done: list[int] = []

    async def boom() -> None:
        raise RuntimeError("handler bug")

    async def fine() -> None:
        done.append(1)

    await runner.submit("k", boom)
    await runner.submit("k", fine)
    await runner.drain()
    assert done == [1]
    assert "handler bug" in caplog.text
