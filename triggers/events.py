"""Pieces of the CloudEvents 1.0 mapping that every queue trigger builds the same way.

Payloads arrive as bytes; `data` is the decoded JSON when the bytes are JSON, else the
bytes themselves, and `datacontenttype` says which. What of a message is not a valid
attribute value (headers, a key that is not text) goes under `MESSAGE`, which the
worker turns into properties of the event beside its attributes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from runtime_adapters.queue_events import MESSAGE
from triggers.base import CloudEvent

__all__ = ["MESSAGE"]

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


# --- CloudEvents types (spec.md, "Type System") -----------------------------------

# What a String must not hold: control characters, surrogates (a lone one can come from
# JSON's \u escapes) and Unicode's noncharacters.
_NOT_STRING = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane * 0x10000 + low) for plane in range(17) for low in (0xFFFE, 0xFFFF))
    + "]"
)
_NAME = re.compile(r"[a-z0-9]+\Z")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def is_string(value: str) -> bool:
    """A valid CloudEvents String."""
    return _NOT_STRING.search(value) is None


def is_timestamp(value: object) -> bool:
    """An RFC 3339 timestamp, as CloudEvents' Timestamp is written."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper())
    except ValueError:
        return False
    return True


def _is_value(name: str, value: object) -> bool:
    if name == "time":
        return is_timestamp(value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT_MIN <= value <= INT_MAX
    return isinstance(value, str) and is_string(value)


def sender_attributes(candidates: dict[str, object]) -> CloudEvent | None:
    """The attributes of an event a sender made a CloudEvent (binary or structured mode),
    or None when it is not one: `specversion` is not 1.0, or `id`, `source` or `type` is
    missing or not a String. Other attributes whose name or value CloudEvents does not
    allow are left out; the message's headers still carry them."""
    if candidates.get("specversion") != SPEC_VERSION:
        return None
    for required in ("id", "source", "type"):
        value = candidates.get(required)
        if not isinstance(value, str) or not value or not is_string(value):
            return None
    return {
        name: value
        for name, value in candidates.items()
        if name != "data" and _NAME.match(name) and _is_value(name, value)
    }


_JSON_TYPE = re.compile(r"(application|text)/([a-zA-Z0-9\-.]+\+)?json(;.*)?\Z", re.IGNORECASE)


def sender_data(payload: bytes | None, content_type: object) -> object:
    """A binary-mode event's data: None when there is no payload (the event has no
    data), decoded JSON when its content type is JSON (or absent and the payload is
    JSON), else the bytes."""
    if not payload:
        return None
    if content_type is None:
        return decode_payload(payload)[0]
    if isinstance(content_type, str) and _JSON_TYPE.match(content_type):
        try:
            return _decode_json(payload)
        except msgspec.DecodeError:
            return payload
    return payload


STRUCTURED = "application/cloudevents"


def is_structured(content_type: str | bytes | None) -> bool:
    """The content type of a structured-mode CloudEvent in the JSON event format."""
    if content_type is None:
        return False
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    return content_type.lower().startswith(STRUCTURED + "+json")


def structured_event(payload: bytes | None) -> CloudEvent | None:
    """A structured-mode CloudEvent (the JSON event format), or None when the payload
    is not one."""
    if not payload:
        return None
    try:
        document = _decode_json(payload)
    except msgspec.DecodeError:
        return None
    if not isinstance(document, dict):
        return None
    event = sender_attributes(document)
    if event is None:
        return None
    if "data_base64" in document:
        try:
            event["data"] = base64.b64decode(document["data_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            return None
    else:
        event["data"] = document.get("data")
    return event
