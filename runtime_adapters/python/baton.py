"""Which worker thread reads the next frame, for sync handlers with concurrency > 1.

The thread that reads a frame runs its handler itself and stays the reader, so with
fast handlers one thread does all the work, the others sleep, and a request costs no
thread wake-up at all. Only when a handler has run for SPILL_AFTER_S does the watcher
thread pass reading on to a sleeping thread, so that a slow (I/O-bound) handler does not
hold up the invocations sent behind it; the thread it took reading from sleeps once its
handler is done. (Go's runtime does the same: sysmon retakes a P from a goroutine stuck
in a syscall.)

Plain leader/followers, where the reader hands reading on as soon as it has a frame,
costs a futex wake-up and a GIL handoff per request: 35-50 µs per round trip on the
2-vCPU VM this was measured on, against a ~60 µs round trip without.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import NoReturn, TypeVar

SPILL_AFTER_S = 0.001
# Once no handler has started for this long the watcher sleeps until one does, so an idle
# worker makes no wake-ups at all, and one invoked a few times a second (shadow copies, a
# trickle of requests) about 6 per invocation, not one a millisecond: each tick wakes a
# thread that takes a core from the gateway on a small machine. (Parking after 100 idle
# ticks instead kept a worker fed the legacy `shadow` state's 10 copies a second awake
# for good: ~550 wake-ups a second under load.) A steady stream keeps it awake.
PARK_AFTER_S = 0.005

M = TypeVar("M")


class Baton:
    def __init__(self) -> None:
        self._read_lock = threading.Lock()  # held by the reader for as long as it is one
        self._handoff = threading.Lock()  # makes "spill" and "still the reader?" atomic
        self._generation = 0  # bumped by every spill
        self._busy_since = 0.0  # when the reader's running handler started; 0: none
        self._last_start = 0.0  # when the latest handler started (the watcher parks on it)
        self._reader: int | None = None  # the reading thread's ident
        self._watcher_parked = False
        self._unpark = threading.Event()

    def serve(self, read: Callable[[], M], run: Callable[[M], None]) -> NoReturn:
        """Every serving thread runs this: wait to become the reader, then read and run."""
        read_lock, handoff, monotonic = self._read_lock, self._handoff, time.monotonic
        while True:
            read_lock.acquire()
            self._reader = threading.get_ident()
            generation = self._generation
            while True:
                message = read()
                self._busy_since = self._last_start = monotonic()
                if self._watcher_parked:
                    self._unpark.set()
                run(message)
                with handoff:
                    if self._generation != generation:
                        break  # the watcher made another thread the reader meanwhile
                    self._busy_since = 0.0

    def lap(self) -> None:
        """The reader's run of several invocations (an InvokeMany) starts its next one:
        time that one afresh, so that a slow invocation spills reading, not a long run
        of fast ones. Once spilled, or on another thread than the reader, nothing."""
        with self._handoff:
            if self._busy_since and self._reader == threading.get_ident():
                self._busy_since = time.monotonic()

    def watch(self) -> NoReturn:
        """The watcher thread: spill reading away from a handler that takes long."""
        while True:
            if not self._busy_since and time.monotonic() - self._last_start >= PARK_AFTER_S:
                self._watcher_parked = True
                if not self._busy_since:  # re-checked after parking: no lost wake-up
                    self._unpark.wait()
                self._unpark.clear()
                self._watcher_parked = False
            time.sleep(SPILL_AFTER_S)
            with self._handoff:
                started = self._busy_since
                if not started:
                    continue
                if time.monotonic() - started >= SPILL_AFTER_S:
                    self._generation += 1
                    self._busy_since = 0.0  # spill once per handler
                    self._read_lock.release()  # a sleeping thread becomes the reader
