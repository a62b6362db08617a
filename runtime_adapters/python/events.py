"""The `event` and `context` objects a handler receives (DESIGN.md, handler contract).

Everything that costs something (query parsing, header folding, the logger) is computed
on first access: most handlers read one or two fields.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from runtime_adapters.python.capture import function_logger

if TYPE_CHECKING:
    import logging


class HttpLike(Protocol):
    """What both the wire struct and base.HttpRequest provide."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query_string(self) -> bytes: ...
    @property
    def headers(self) -> list[tuple[bytes, bytes]]: ...
    @property
    def params(self) -> dict[str, str]: ...
    @property
    def body(self) -> bytes: ...


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping; repeated headers are joined with ", "."""

    __slots__ = ("_folded", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        folded: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            folded[key] = f"{folded[key]}, {text}" if key in folded else text
        self._folded = folded

    def __getitem__(self, key: str) -> str:
        return self._folded[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._folded

    def __iter__(self) -> Iterator[str]:
        return iter(self._folded)

    def __len__(self) -> int:
        return len(self._folded)

    def __repr__(self) -> str:
        return f"Headers({self._folded!r})"


class HttpRequestEvent:
    """`event` for HTTP triggers."""

    __slots__ = ("_headers", "_query", "_raw_headers", "body", "method", "params", "path",
                 "query_string")  # fmt: skip

    def __init__(self, request: HttpLike) -> None:
        self.method = request.method
        self.path = request.path
        self.params = request.params
        self.body = request.body
        self.query_string = request.query_string.decode("latin-1")  # the raw query string
        self._raw_headers = request.headers
        self._headers: Headers | None = None
        self._query: dict[str, str] | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self._raw_headers)
        return self._headers

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, first value of each (`query_string` has the rest)."""
        if self._query is None:
            from urllib.parse import parse_qsl

            query: dict[str, str] = {}
            for key, value in parse_qsl(self.query_string, keep_blank_values=True):
                query.setdefault(key, value)
            self._query = query
        return self._query

    def json(self) -> Any:
        return msgspec.json.decode(self.body)

    def __repr__(self) -> str:
        return f"<HttpRequestEvent {self.method} {self.path}>"


class CloudEvent(dict[str, Any]):
    """`event` for other triggers: the CloudEvents mapping, also readable as attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def make_event(event: HttpLike | Mapping[str, Any]) -> HttpRequestEvent | CloudEvent:
    # The exact-type test first: CloudEvents arrive as dicts, and an ABC check is slow.
    if type(event) is dict or isinstance(event, Mapping):
        return CloudEvent(event)
    return HttpRequestEvent(event)


class Context:
    """`context`: who is being invoked, why, and how long is left."""

    __slots__ = ("_deadline", "_logger", "alias", "function", "request_id", "revision",
                 "trigger")  # fmt: skip

    def __init__(
        self,
        function: str,
        revision: int,
        alias: str,
        request_id: str,
        trigger: str,
        deadline: float,
    ) -> None:
        self.function = function
        self.revision = revision
        self.alias = alias
        self.request_id = request_id
        self.trigger = trigger
        self._deadline = deadline  # time.monotonic() seconds
        self._logger: logging.Logger | None = None

    def remaining_ms(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    @property
    def logger(self) -> logging.Logger:
        if self._logger is None:
            self._logger = function_logger(self.function)
        return self._logger

    def __repr__(self) -> str:
        return f"<Context {self.function}@{self.revision} {self.request_id}>"
