"""One JSON line per request on stderr, and the JSON formatter for the gateway's own logs.

Every line has `time` (RFC 3339 UTC) and `level`; lines about an invocation also have
its `request_id`, `function`, `revision` and `trigger`. Lines about a function are
tapped into its ring for `gaia logs` (gateway/logs.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import IO

import msgspec

from gateway.listener_logs import ListenerTag
from gateway.logs import FunctionLogs, LogRecord, log_time

_encoder = msgspec.json.Encoder()
_encode = _encoder.encode
_encode_into = _encoder.encode_into
# What the gateway's own log calls may pass in `extra=`, copied into their JSON line.
_EXTRA = ("request_id", "function", "revision", "alias", "trigger", "listener", "traceback")


class JsonLines:
    """Writes one JSON object per line to a binary stream.

    Inside an event loop, lines written in one loop iteration go out in one write when
    the iteration ends: under load that is one syscall for many requests, and a line
    still reaches the stream within the same iteration as its response.
    """

    def __init__(
        self, stream: IO[bytes] | None = None, *, logs: FunctionLogs | None = None
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr.buffer
        self._pending = bytearray()
        self._scheduled = False
        # Also handed every record written: the function log rings, typed so that the
        # compiled write publishes at C level (accesslog.pxd).
        self._logs = logs

    def write(self, record: LogRecord) -> None:
        pending = self._pending
        _encode_into(record, pending, -1)  # appended in place: no bytes object between
        pending.append(0x0A)  # the newline: compiled, a resize and a store
        if self._logs is not None:
            self._logs.publish(record)
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
    def fields(self, record: logging.LogRecord) -> LogRecord:
        entry: LogRecord = {
            "time": log_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:  # the gateway's own: a function's comes in `extra`
            entry["traceback"] = self.formatException(record.exc_info)
        return entry

    def format(self, record: logging.LogRecord) -> str:
        return _encode(self.fields(record)).decode()


class FunctionLogTap(logging.Handler):
    """Hands the gateway's own lines about a function (those logged with `function` in
    `extra`: failures with their traceback) to that function's ring."""

    def __init__(self, logs: FunctionLogs) -> None:
        super().__init__()
        self._logs = logs
        self._formatter = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "function", None) is not None:
            self._logs.publish(self._formatter.fields(record))


def configure_logging(level: int = logging.INFO, *, logs: FunctionLogs | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ListenerTag())
    root = logging.getLogger()
    root.handlers[:] = [handler] if logs is None else [handler, FunctionLogTap(logs)]
    root.setLevel(level)


def now() -> float:
    return round(time.time(), 6)
