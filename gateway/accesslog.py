"""One JSON line per request on stderr, and the JSON formatter for the gateway's own logs."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import IO

import msgspec

from gateway.listener_logs import ListenerTag

_encode = msgspec.json.Encoder().encode


class JsonLines:
    """Writes one JSON object per line to a binary stream.

    Inside an event loop, lines written in one loop iteration go out in one write when
    the iteration ends: under load that is one syscall for many requests, and a line
    still reaches the stream within the same iteration as its response.
    """

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr.buffer
        self._pending = bytearray()
        self._scheduled = False

    def write(self, record: dict[str, object]) -> None:
        self._pending += _encode(record)
        self._pending += b"\n"
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if self._pending:
            self._stream.write(self._pending)
            self._stream.flush()
            self._pending.clear()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        listener = getattr(record, "listener", None)
        if listener is not None:
            entry["listener"] = listener
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return _encode(entry).decode()


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ListenerTag())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def now() -> float:
    return round(time.time(), 6)
