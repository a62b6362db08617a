"""Where functions' output goes: one record per line, handed to a `LogSink`.

Two sources: what a handler printed or logged during an invocation (it comes back with
the reply, tagged with the request id) and what a worker wrote to its real fd 1/2
outside any invocation (read from pipes, tagged with the instance).
"""

from __future__ import annotations

import sys

import msgspec

from runtime_adapters.base import Invocation, LogRecord, LogSink
from runtime_adapters.python.protocol import Failed, Reply

__all__ = ["LogRecord", "LogSink", "emit_captured", "emit_output", "stderr_sink"]

_json_encode = msgspec.json.encode


def stderr_sink(record: LogRecord) -> None:
    """The default sink: JSON lines on the gateway's stderr."""
    sys.stderr.write(_json_encode(record).decode() + "\n")


def stream_level(stream: str) -> str:
    """The level of a line a function wrote: stderr is where problems go (as Cloud Run
    and Knative's logging read it), stdout is information."""
    return "error" if stream == "stderr" else "info"


def emit_captured(
    sink: LogSink, invocation: Invocation, function: str, revision: int, outcome: Reply | Failed
) -> None:
    """Hand an invocation's captured stdout, stderr and log records to the sink, each
    with the invocation's request id, alias and trigger."""
    about = {
        "request_id": invocation.request_id,
        "function": function,
        "revision": revision,
        "alias": invocation.alias,
        "trigger": invocation.trigger,
    }
    for stream, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        level = stream_level(stream)
        for line in text.splitlines():
            sink({"level": level, **about, "stream": stream, "line": line})
    for level, message in outcome.logs:
        sink({"level": level.lower(), **about, "stream": "log", "line": message})


def emit_output(
    sink: LogSink, instance: str, function: str | None, revision: int | None, stream: str, line: str
) -> None:
    """Hand the sink a line an instance's process wrote outside any invocation."""
    sink(
        {
            "level": stream_level(stream),
            "instance": instance,
            "function": function,
            "revision": revision,
            "stream": stream,
            "line": line,
        }
    )


class LineSplitter:
    """Reassembles lines from pipe chunks (a chunk may end mid-line)."""

    __slots__ = ("_partial",)

    MAX_LINE = 64 * 1024  # a worker writing without newlines must not grow us forever

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[str]:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > self.MAX_LINE:
            lines.append(self._partial)
            self._partial = b""
        return [line.decode(errors="replace") for line in lines]

    def flush(self) -> list[str]:
        rest, self._partial = self._partial, b""
        return [rest.decode(errors="replace")] if rest else []
