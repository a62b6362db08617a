"""Per-invocation capture of what a function prints and logs.

The worker replaces sys.stdout/sys.stderr with `CapturedStream`s. A write goes to the
buffer of the invocation running in the current thread (sync handlers) or task (async
handlers): both have their own contextvars context, so one ContextVar serves both.
Writes outside any invocation (module import, threads the function starts itself) go to
the worker's real fd 1/2, which the gateway reads and tags with the instance.
"""

from __future__ import annotations

import io
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import logging

STDOUT = 0
STDERR = 1


class Capture:
    """What one invocation wrote; lists stay None until first used (the common case)."""

    __slots__ = ("logs", "streams")

    def __init__(self) -> None:
        self.streams: tuple[list[str], list[str]] | None = None
        self.logs: list[tuple[str, str]] | None = None

    def write(self, stream: int, text: str) -> None:
        if self.streams is None:
            self.streams = ([], [])
        self.streams[stream].append(text)

    def log(self, level: str, message: str) -> None:
        if self.logs is None:
            self.logs = []
        self.logs.append((level, message))

    def text(self, stream: int) -> str:
        return "" if self.streams is None else "".join(self.streams[stream])


CURRENT: ContextVar[Capture | None] = ContextVar("gaia_capture", default=None)


class CapturedStream(io.TextIOBase):
    """A text stream that writes into the current invocation's Capture."""

    encoding = "utf-8"

    def __init__(self, stream: int, fallback: TextIO) -> None:
        self._stream = stream
        self._fallback = fallback

    def write(self, s: str) -> int:
        capture = CURRENT.get()
        if capture is None:
            # Outside an invocation: straight to the real fd, unbuffered, so the gateway
            # sees the line now rather than when a pipe buffer happens to fill.
            written = self._fallback.write(s)
            self._fallback.flush()
            return written
        capture.write(self._stream, s)
        return len(s)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fallback.fileno()


_handler: logging.Handler | None = None


def function_logger(function: str) -> logging.Logger:
    """The `context.logger` of a function: its records travel with the invocation.

    `logging` is imported here, on first use, because most functions never log and a
    stem cell should not pay for the import.
    """
    import logging

    global _handler
    if _handler is None:

        class CaptureHandler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    message = self.format(record)
                except Exception:
                    self.handleError(record)
                    return
                capture = CURRENT.get()
                if capture is None:
                    sys.__stderr__.write(f"{record.levelname} {message}\n")  # type: ignore[union-attr]
                else:
                    capture.log(record.levelname, message)

        _handler = CaptureHandler()
        _handler.setFormatter(logging.Formatter("%(message)s"))

    logger = logging.getLogger(f"function.{function}")
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
