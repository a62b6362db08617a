"""Busy-polling the gateway's event loop while worker replies are due.

On a VM, waking a sleeping process on another CPU costs ~40 µs, more than a fast
invocation's whole round trip. After each invocation is sent, one self-rescheduling
callback keeps the loop polling its sockets with a zero timeout instead of sleeping,
so a reply that comes back within the window is read at once. One poller serves every
connection of the loop (one callback per iteration however many are in flight), and it
stops WINDOW_S after the last send: an idle gateway sleeps as before.

Only for a reply someone is waiting on: an invocation that is not urgent (a legacy
shadow copy, whose client already has the old API's answer) leaves its reply to the
loop's ordinary wait, as does a run of several (InvokeMany). Polling for a copy's reply
cost the gateway up to ~0.2 ms of spinning for nothing (README, Legacy proxy benchmark).
The two counts say which way each reply was waited for.
"""

from __future__ import annotations

import asyncio
import time

WINDOW_S = 0.0003


class BusyPoll:
    def __init__(self, *, window_s: float = WINDOW_S) -> None:
        self._window_s = window_s
        self._until = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None  # set while polling
        self.polled = 0  # sends whose reply was polled for
        self.unhurried = 0  # sends whose reply was left to the loop's wait

    def expect_reply(self) -> None:
        if self._window_s <= 0:
            return
        self.polled += 1
        self._until = time.perf_counter() + self._window_s
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._poll)

    def _poll(self) -> None:
        assert self._loop is not None
        if time.perf_counter() < self._until:
            self._loop.call_soon(self._poll)
        else:
            self._loop = None
