"""Pieces of the CloudEvents 1.0 mapping that every queue trigger builds the same way.

Payloads arrive as bytes; `data` is the decoded JSON when the bytes are JSON, else the
bytes themselves, and `datacontenttype` says which.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from triggers.base import CloudEvent

SPEC_VERSION = "1.0"
JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
_decode_json = msgspec.json.Decoder().decode


def cloud_event(
    *, id: str, source: str, type: str, subject: str, time_ms: float | None, payload: bytes | None
) -> CloudEvent:
    data, content_type = decode_payload(payload)
    event: CloudEvent = {
        "specversion": SPEC_VERSION,
        "id": id,
        "source": source,
        "type": type,
        "subject": subject,
        "datacontenttype": content_type,
        "data": data,
    }
    if time_ms is not None and time_ms >= 0:  # Kafka says -1 for "no timestamp"
        event["time"] = iso_time(time_ms / 1000)
    return event


def decode_payload(payload: bytes | None) -> tuple[object, str]:
    if not payload:
        return payload, OCTET_STREAM
    first = payload[:1]
    # Only bytes that can start a JSON document are worth a parse attempt.
    if first in b'{["-0123456789tfn' or first.isspace():
        try:
            return _decode_json(payload), JSON
        except msgspec.DecodeError:
            pass
    return payload, OCTET_STREAM


def iso_time(seconds: float) -> str:
    """`2026-11-27T08:00:00.125Z`. The records of a batch mostly share their second, so
    its text is cached and only the milliseconds are formatted each time."""
    whole = int(seconds)
    return f"{_second_text(whole)}.{int((seconds - whole) * 1000):03d}Z"


@functools.lru_cache(maxsize=256)
def _second_text(whole: int) -> str:
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def header_map(headers: Iterable[tuple[str, bytes]]) -> dict[str, str | bytes]:
    """Headers by name; values that are not UTF-8 stay bytes. A repeated name keeps the
    last value, as most brokers' clients do when reading a header by name."""
    return {name: text_or_bytes(value) for name, value in headers}


def text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value
