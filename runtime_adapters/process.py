"""Watching an instance's process: its output lines and its exit, as callbacks."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Protocol, cast

from runtime_adapters.python.logs import LineSplitter


class WatchedProcess(Protocol):
    def process_exited(self, returncode: int) -> None: ...

    def pipes_closed(self) -> None:
        """The process and its pipes are done: its last output has been read."""

    def output(self, stream: str, line: str) -> None: ...


class ProcessRecord:
    """What a watched process left behind: its exit code, the end of its pipes, and its
    last lines of stderr (the only clue when it dies before it can answer)."""

    # A process it started may hold the pipes open forever: wait this long at most.
    PIPES_WAIT_S = 0.2

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.exited: asyncio.Future[int] = loop.create_future()
        self._pipes_closed: asyncio.Future[None] = loop.create_future()
        self._recent_stderr: deque[str] = deque(maxlen=8)

    def exit(self, returncode: int) -> None:
        if not self.exited.done():
            self.exited.set_result(returncode)

    def pipes_closed(self) -> None:
        if not self._pipes_closed.done():
            self._pipes_closed.set_result(None)

    def heard(self, stream: str, line: str) -> None:
        if stream == "stderr":
            self._recent_stderr.append(line)

    async def drained(self) -> None:
        """Wait (bounded) until the last output has been read."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._pipes_closed), self.PIPES_WAIT_S)

    def last_words(self) -> str:
        """The recent stderr lines, each on an indented line of its own."""
        return "".join(f"\n  {line}" for line in self._recent_stderr)


class ProcessWatch(asyncio.SubprocessProtocol):
    """Reads a process's fd 1/2 line by line and notices its exit, for its owner."""

    def __init__(self, instance: WatchedProcess) -> None:
        self._instance = instance
        self._lines = {1: LineSplitter(), 2: LineSplitter()}
        self._transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's process transport does not subclass asyncio.SubprocessTransport.
        self._transport = cast(asyncio.SubprocessTransport, transport)

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        assert isinstance(data, bytes)
        self._emit(fd, self._lines[fd].feed(data))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd in self._lines:
            self._emit(fd, self._lines[fd].flush())

    def connection_lost(self, exc: Exception | None) -> None:
        self._instance.pipes_closed()  # asyncio calls this once the process and its pipes are done

    def process_exited(self) -> None:
        assert self._transport is not None
        returncode = self._transport.get_returncode()
        self._instance.process_exited(-1 if returncode is None else returncode)

    def _emit(self, fd: int, lines: list[str]) -> None:
        stream = "stdout" if fd == 1 else "stderr"
        for line in lines:
            self._instance.output(stream, line)
