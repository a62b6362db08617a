"""Busy-polling the gateway's event loop while worker replies are due.

On a VM, waking a sleeping process on another CPU costs ~40 µs, more than a fast
invocation's whole round trip. After each invocation is sent, one self-rescheduling
callback keeps the loop polling its sockets with a zero timeout instead of sleeping,
so a reply that comes back within the window is read at once. One poller serves every
connection of the loop (one callback per iteration however many are in flight), and it
stops WINDOW_S after the last send: an idle gateway sleeps as before.
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

    def expect_reply(self) -> None:
        if self._window_s <= 0:
            return
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
