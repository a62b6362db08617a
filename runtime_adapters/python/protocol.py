"""The wire format between the gateway and a Python worker.

One AF_UNIX stream carries frames in both directions: a 4-byte big-endian length, then a
msgpack payload. Payloads are tagged, array-like msgspec Structs: an array with a small
integer tag first, so encoding and decoding skip field names entirely. Every invocation
and its reply carry an integer `id` chosen by the gateway, so one connection multiplexes
many in-flight invocations and replies may come back in any order.

This module is imported by the worker process too, so it must stay light: msgspec and
the standard library's cheapest modules only (no asyncio, no logging).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

HEADER_BYTES: Final = 4
# A worker that announces a larger frame is broken or hostile; the gateway drops it.
MAX_FRAME_BYTES: Final = 256 * 1024 * 1024

# Exit codes the worker uses so the gateway can say what happened to it.
EXIT_MEMORY: Final = 86  # the handler hit the memory limit (MemoryError)
EXIT_INTERNAL: Final = 87  # the worker itself failed: a bad frame, a reply it cannot send

Headers = list[tuple[bytes, bytes]]


class HttpEvent(msgspec.Struct, array_like=True):
    """An HTTP request as it travels to the worker (mirrors base.HttpRequest)."""

    method: str
    path: str
    query_string: bytes
    headers: Headers
    params: dict[str, str]
    body: bytes
    raw_path: bytes = b""


# --- gateway -> worker ------------------------------------------------------------


class Load(msgspec.Struct, tag=1, array_like=True):
    """Turn a stem cell into an instance of one revision."""

    function: str
    revision: int
    handler: str
    env: dict[str, str]
    memory_bytes: int
    timeout_s: float
    concurrency: int
    interface: str = ""  # "" for a handler function, else "asgi" or "wsgi"


class Invoke(msgspec.Struct, tag=2, array_like=True):
    id: int
    request_id: str
    trigger: str
    alias: str
    timeout_ms: int
    # CloudEvents travel as a plain map; msgspec tells the two apart by msgpack type.
    event: HttpEvent | dict[str, Any]
    traceparent: str = ""  # the span the handler runs under; "" when untraced


class InvokeMany(msgspec.Struct, tag=3, array_like=True):
    """Invocations to run one after another, in order, stopping after the first that
    fails (raises, or answers 5xx): the records of one ordered partition, sent at once
    so the worker is woken once for all of them. Each item's `id` is its position."""

    id: int
    items: list[Invoke]


# --- worker -> gateway ------------------------------------------------------------


class Hello(msgspec.Struct, tag=10, array_like=True):
    """A stem cell has booted: the runtime is imported, no function is loaded yet."""

    pid: int


class Ready(msgspec.Struct, tag=11, array_like=True):
    is_async: bool
    serves_http: bool = False  # an ASGI app's own server listens (http_serve.py)


class LoadFailed(msgspec.Struct, tag=12, array_like=True):
    message: str
    traceback: str
    key: str = ""  # the setting at fault ("handler": it names nothing usable), or ""


class Reply(msgspec.Struct, tag=13, array_like=True, omit_defaults=True):
    id: int
    status: int
    headers: Headers
    body: bytes
    # Output captured during the invocation; omitted from the frame when empty.
    stdout: str = ""
    stderr: str = ""
    logs: list[tuple[str, str]] = []  # (level name, formatted message)


class Failed(msgspec.Struct, tag=14, array_like=True, omit_defaults=True):
    id: int
    message: str
    traceback: str
    stdout: str = ""
    stderr: str = ""
    logs: list[tuple[str, str]] = []


class ManyReplies(msgspec.Struct, tag=15, array_like=True):
    """The outcomes of an InvokeMany's items in order; shorter than its items when one
    failed (the failure is then the last)."""

    id: int
    replies: list[Reply | Failed]


ToWorker = Load | Invoke | InvokeMany
FromWorker = Hello | Ready | LoadFailed | Reply | Failed | ManyReplies


def frame(encoder: msgspec.msgpack.Encoder, message: object) -> bytearray:
    """Encode `message` behind its length prefix in one buffer (no concatenation)."""
    buf = bytearray(HEADER_BYTES)
    encoder.encode_into(message, buf, HEADER_BYTES)
    buf[:HEADER_BYTES] = (len(buf) - HEADER_BYTES).to_bytes(HEADER_BYTES, "big")
    return buf
