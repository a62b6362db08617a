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
        event["time"] = iso_time_ms(int(time_ms))
    return event


# The first bytes of a JSON document: only payloads starting with one are parsed.
_JSON_STARTS = frozenset(b'{["-0123456789tfn \t\r\n')


def decode_payload(payload: bytes | None) -> tuple[object, str]:
    if not payload or payload[0] not in _JSON_STARTS:
        return payload, OCTET_STREAM
    try:
        return _decode_json(payload), JSON
    except msgspec.DecodeError:
        return payload, OCTET_STREAM


def iso_time(seconds: float) -> str:
    """`2026-11-27T08:00:00.125Z`."""
    return iso_time_ms(int(seconds * 1000))


@functools.lru_cache(maxsize=4096)
def iso_time_ms(ms: int) -> str:
    """As iso_time, from epoch milliseconds. A queue's records come in bursts that
    share their millisecond, so recent texts are kept."""
    whole, milli = divmod(ms, 1000)
    second = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{second}.{milli:03d}Z"


def header_map(headers: Iterable[tuple[str, bytes]]) -> dict[str, str | bytes]:
    """Headers by name; values that are not UTF-8 stay bytes. A repeated name keeps the
    last value, as most brokers' clients do when reading a header by name."""
    return {name: text_or_bytes(value) for name, value in headers}


def text_or_bytes(value: bytes) -> str | bytes:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value
