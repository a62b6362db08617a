"""Each function's recent log lines, kept for `gaia logs` and handed to whoever follows.

Every JSON line the gateway writes about a function (its requests' access lines, what
it printed or logged, its failures) is also published here: a bounded ring per function
keeps the newest `capacity` of them, and followers of that function get each new one.
Publishing is an append to a deque and one dict lookup that finds no follower, so
nobody following costs nothing more than the ring; a follower costs its filter and a
queue put per line of its function only.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

LogRecord = dict[str, object]

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
DEFAULT_CAPACITY = 1000
# A follower this far behind loses lines rather than the gateway's memory.
FOLLOWER_BACKLOG = 5000
# How long a follower gathers lines after the first before sending them: one write per
# tick, whatever the function's request rate (a write per line measured a quarter more
# CPU per request of a busy function; per event loop pass, a fifth).
FOLLOW_TICK_S = 0.05


class LogTime:
    """RFC 3339 UTC times to the microsecond (`2026-11-29T10:00:00.123456Z`); the text
    of the current second is made once, since log lines come many to a second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -2.0
        self._prefix = ""

    def __call__(self, epoch: float) -> str:
        return self.text(epoch)

    def text(self, epoch: float) -> str:
        """The time `epoch` as a log line's `time`."""
        # Apart from __call__ for Cython (logs.pxd), which types no special method's
        # locals; a C-level call from a compiled caller (the data plane's access
        # line, once per spliced request). The microseconds are those of the time
        # past the current second, rounded half to even, as datetime.fromtimestamp
        # (modf, then round) makes them: small integers, which cost a third less than
        # rounding the whole time in microseconds (an integer past 2**30).
        scaled = (epoch - self._second) * 1e6
        # Within the current second (what round would keep in [0, 1e6)), round half to
        # even by hand: compiled, this is C arithmetic, where round() is a Python call
        # costing half the method. x - int(x) is exact for these x, so this is round.
        if -0.5 <= scaled < 999_999.5:
            micros = int(scaled)
            excess = scaled - micros
            if excess > 0.5 or (excess == 0.5 and micros & 1):
                micros += 1
        else:
            second = math.floor(epoch)
            micros = round((epoch - second) * 1e6)
            if micros == 1_000_000:
                second += 1
                micros = 0
            self._second = float(second)
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        # Compiled, the padded integer is formatted in C (micros is a C long: logs.pxd).
        return f"{self._prefix}{micros:06d}Z"


log_time = LogTime()
# Compiled, a module global is looked up by dict version and this builtin called
# directly; `threading.get_ident` costs an attribute lookup of the module per line.
_thread_id = threading.get_ident


@dataclass(frozen=True, kw_only=True)
class LogFilter:
    """Which of a function's lines a reader wants."""

    revision: int | None = None
    level: str = "debug"  # at least this level
    since: float | None = None  # epoch seconds

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"expected one of {', '.join(LEVELS)}, got {self.level!r}")

    def admits(self, record: LogRecord) -> bool:
        if self.since is not None and _epoch(record.get("time")) < self.since:
            return False
        if self.revision is not None and record.get("revision") != self.revision:
            return False
        level = record.get("level")
        return LEVELS.get(level if isinstance(level, str) else "info", 20) >= LEVELS[self.level]


def _epoch(text: object) -> float:
    """A line's `time` as epoch seconds, read only when a reader asks for `since`: the
    lines keep no number of their own, so publishing one computes nothing."""
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return 0.0


class _Follower:
    __slots__ = ("dropped", "filter", "queue")

    def __init__(self, log_filter: LogFilter) -> None:
        self.filter = log_filter
        self.queue: asyncio.Queue[LogRecord] = asyncio.Queue(FOLLOWER_BACKLOG)
        self.dropped = 0

    def offer(self, record: LogRecord) -> None:
        if not self.filter.admits(record):
            return
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            self.dropped += 1


class FunctionLogs:
    """The rings and followers, one of each per function. Publish on the event loop's
    thread; a line published from another thread is handed over to it."""

    def __init__(self, *, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"expected a capacity of at least 1 line, got {capacity}")
        self._capacity = capacity
        self._rings: dict[str, deque[LogRecord]] = {}
        self._followers: dict[str, set[_Follower]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = _thread_id()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop followers wait on; lines from other threads go through it."""
        self._loop = loop
        self._thread = _thread_id()

    def publish(self, record: LogRecord) -> None:
        """Keep a line about `record["function"]` and hand it to that function's followers;
        a line about no function is ignored."""
        function = record.get("function")
        if not isinstance(function, str):
            return
        if _thread_id() != self._thread and self._loop is not None:
            self._loop.call_soon_threadsafe(self.publish, record)
            return
        ring = self._rings.get(function)
        if ring is None:
            ring = self._rings[function] = deque(maxlen=self._capacity)
        ring.append(record)
        followers = self._followers.get(function)
        if followers:
            for follower in followers:
                follower.offer(record)

    def recent(self, function: str, log_filter: LogFilter) -> list[LogRecord]:
        """The kept lines of `function` that `log_filter` admits, oldest first."""
        return [record for record in self._rings.get(function, ()) if log_filter.admits(record)]

    def followers(self) -> dict[str, int]:
        """Functions someone follows now, with how many follow each."""
        return {function: len(followers) for function, followers in self._followers.items()}

    def forget(self, functions: Iterable[str]) -> None:
        """Drop the rings of functions that no longer exist."""
        for function in functions:
            self._rings.pop(function, None)

    async def follow(
        self, function: str, log_filter: LogFilter
    ) -> AsyncGenerator[list[LogRecord], None]:
        """The kept lines, then the new ones in batches as they come (each what came
        within FOLLOW_TICK_S of its first line), until the caller stops iterating (a
        client that leaves); then the follower is gone."""
        follower = _Follower(log_filter)
        # Registered before the backlog is read: nothing published in between is lost.
        self._followers.setdefault(function, set()).add(follower)
        queue = follower.queue
        try:
            backlog = self.recent(function, log_filter)
            if backlog:
                yield backlog
            while True:
                batch = [await queue.get()]
                await asyncio.sleep(FOLLOW_TICK_S)
                while not queue.empty():
                    batch.append(queue.get_nowait())
                if follower.dropped:
                    # Where the gap is: after the lines that were kept.
                    batch.append(
                        {
                            "time": log_time(time.time()),
                            "level": "warning",
                            "function": function,
                            "message": f"{follower.dropped} lines were dropped: this follower"
                            " read too slowly",
                        }
                    )
                    follower.dropped = 0
                yield batch
        finally:
            followers = self._followers.get(function)
            if followers is not None:
                followers.discard(follower)
                if not followers:
                    del self._followers[function]


def stamped(write: Callable[[LogRecord], None]) -> Callable[[LogRecord], None]:
    """A runtime's log sink: each line an instance wrote gets its time as it reaches the
    gateway, first in its JSON line."""

    def sink(record: LogRecord) -> None:
        write({"time": log_time(time.time()), **record})

    return sink
