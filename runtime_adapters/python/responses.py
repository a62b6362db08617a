"""Map a handler's return value to (status, headers, body) (DESIGN.md, handler contract).

The worker does this so the gateway only forwards bytes it already has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

Headers = list[tuple[bytes, bytes]]

_CONTENT_TYPE = b"content-type"
_TEXT = (_CONTENT_TYPE, b"text/plain; charset=utf-8")
_BINARY = (_CONTENT_TYPE, b"application/octet-stream")
_JSON = (_CONTENT_TYPE, b"application/json")
_RESPONSE_KEYS = frozenset(("status", "headers", "body"))
_json_encode = msgspec.json.encode


def to_response(value: Any) -> tuple[int, Headers, bytes]:
    kind = type(value)
    # Exact-type checks first: they are the common case and the cheapest test.
    if kind is dict:
        if _is_response(value):
            return _explicit(value)
        return 200, [_JSON], _json_encode(value)
    if kind is str:
        return 200, [_TEXT], value.encode()
    if value is None:
        return 204, [], b""
    if kind is list:
        return 200, [_JSON], _json_encode(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return 200, [_BINARY], bytes(value)
    if isinstance(value, str):
        return 200, [_TEXT], value.encode()
    if isinstance(value, Mapping | list | tuple):
        return 200, [_JSON], _json_encode(value)
    if hasattr(value, "__await__"):
        raise TypeError("handler returned an awaitable; declare it `async def handler`")
    raise TypeError(
        f"handler returned {kind.__name__}; expected str, bytes, dict, list, None "
        'or {"status": int, "headers": {...}, "body": ...}'
    )


def _is_response(value: dict[Any, Any]) -> bool:
    status = value.get("status")
    return type(status) is int and 100 <= status <= 599 and value.keys() <= _RESPONSE_KEYS


def _explicit(value: dict[str, Any]) -> tuple[int, Headers, bytes]:
    status: int = value["status"]
    headers = _encode_headers(value.get("headers"))
    body = value.get("body")
    if body is None:
        return status, headers, b""
    default = _TEXT
    if isinstance(body, str):
        payload = body.encode()
    elif isinstance(body, bytes | bytearray | memoryview):
        payload, default = bytes(body), _BINARY
    else:
        payload, default = _json_encode(body), _JSON
    if not any(name == _CONTENT_TYPE for name, _ in headers):
        headers.append(default)
    return status, headers, payload


def _encode_headers(headers: object) -> Headers:
    pairs: Iterable[Any]
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        pairs = headers.items()
    elif isinstance(headers, list | tuple):
        pairs = headers
    else:
        raise TypeError("response headers must be a mapping or a list of (name, value) pairs")
    return [(_header_bytes(name).lower(), _header_bytes(value)) for name, value in pairs]


def _header_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    # HTTP/1.1 header values are latin-1; anything else is the function's bug.
    return str(value).encode("latin-1")
