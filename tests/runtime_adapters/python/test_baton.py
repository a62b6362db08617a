"""Baton: a slow invocation passes reading on to another thread; a long run of quick
ones (an ordered run, InvokeMany) does not; between sparse invocations the watcher
sleeps."""

from __future__ import annotations

import asyncio
import queue
import threading
import time

import pytest

from runtime_adapters.base import PoolSpec
from runtime_adapters.python import PythonRuntime, baton
from runtime_adapters.python.baton import Baton

from .conftest import http, json_body, spec

SPILL_S = 0.1  # wide, so that a loaded machine's oversleeping cannot fake a spill
WAIT_S = 10.0


class Served:
    """Two serving threads and the watcher; each message is a list of item durations."""

    def __init__(self) -> None:
        self.baton = Baton()
        self.frames: queue.Queue[list[float]] = queue.Queue()
        self.finished: queue.Queue[tuple[int, float]] = queue.Queue()  # (thread, when)
        for target in (self._serve, self._serve, self.baton.watch):
            threading.Thread(target=target, daemon=True).start()

    def _serve(self) -> None:
        self.baton.serve(self.frames.get, self._run)

    def _run(self, items: list[float]) -> None:
        for seconds in items:
            self.baton.lap()
            time.sleep(seconds)
        self.finished.put((threading.get_ident(), time.monotonic()))


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    monkeypatch.setattr(baton, "SPILL_AFTER_S", SPILL_S)
    return Served()


def test_a_long_run_of_quick_invocations_keeps_its_thread_reading(served: Served) -> None:
    served.frames.put([0.01] * 40)  # 0.4 s in all, no item near SPILL_S
    first_thread, _ = served.finished.get(timeout=WAIT_S)
    served.frames.put([0.0])
    next_thread, _ = served.finished.get(timeout=WAIT_S)
    assert next_thread == first_thread


def test_a_slow_invocation_in_a_run_lets_another_thread_read(served: Served) -> None:
    served.frames.put([0.0, 0.5])
    served.frames.put([0.0])  # read by the other thread while the slow item runs
    quick_thread, quick_done = served.finished.get(timeout=WAIT_S)
    slow_thread, slow_done = served.finished.get(timeout=WAIT_S)
    assert quick_thread != slow_thread and quick_done < slow_done


async def test_a_worker_invoked_ten_times_a_second_is_not_woken_every_millisecond(
    runtime: PythonRuntime,
) -> None:
    """As the legacy `shadow` state invokes a function (shadow.rate 10): each thread
    switch in a worker takes a core from the gateway on a small machine."""
    revision = spec("main.wakeups", pool=PoolSpec(min=1, max=1, idle_s=60))
    await runtime.warm(revision)
    first = json_body(await runtime.invoke(revision.key, http()))["wakeups"]
    last = first
    for _ in range(20):
        await asyncio.sleep(0.05)  # the gap between invocations is the case, not a wait
        last = json_body(await runtime.invoke(revision.key, http()))["wakeups"]
    # Over >= 1 s, a watcher ticking every millisecond throughout is woken 500 to 1000
    # times (806 measured); parking PARK_AFTER_S after each invocation, about 6 times per
    # invocation (141 measured, the reading threads' own included).
    assert last - first < 300, f"{last - first} wake-ups for 20 invocations"


async def test_a_warm_worker_never_invoked_is_not_woken(runtime: PythonRuntime) -> None:
    revision = spec("main.wakeups", pool=PoolSpec(min=1, max=1, idle_s=60))
    await runtime.warm(revision)
    await asyncio.sleep(0.5)  # idle since it started: the case, not a wait
    first = json_body(await runtime.invoke(revision.key, http()))["wakeups"]
    # Its start-up's own (60 measured); a watcher ticking until a first handler would
    # add one a millisecond (521 measured).
    assert first < 150, f"{first} wake-ups since the worker started"
