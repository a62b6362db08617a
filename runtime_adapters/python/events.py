"""The `event` and `context` objects a handler receives (DESIGN.md, handler contract).

Everything that costs something (query parsing, header folding, the logger) is computed
on first access: most handlers read one or two fields.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from runtime_adapters.python.capture import function_logger
from runtime_adapters.queue_events import BATCH, MESSAGE

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
    """Case-insensitive, read-only header mapping; repeated headers are joined with ", ",
    but repeated `Cookie` headers with "; " (RFC 6265 section 5.4: one cookie-string)."""

    __slots__ = ("_folded", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        folded: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            if key in folded:
                text = f"{folded[key]}{'; ' if key == 'cookie' else ', '}{text}"
            folded[key] = text
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

    __slots__ = ("_headers", "_query", "_query_all", "_raw_headers", "body", "method", "params",
                 "path", "query_string")  # fmt: skip

    def __init__(self, request: HttpLike) -> None:
        self.method = request.method
        self.path = request.path
        self.params = request.params
        self.body = request.body
        self.query_string = request.query_string.decode("latin-1")  # the raw query string
        self._raw_headers = request.headers
        self._headers: Headers | None = None
        self._query: dict[str, str] | None = None
        self._query_all: dict[str, list[str]] | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self._raw_headers)
        return self._headers

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; a repeated key gives its first value (`query_all` has all)."""
        if self._query is None:
            self._query = {key: values[0] for key, values in self.query_all.items()}
        return self._query

    @property
    def query_all(self) -> dict[str, list[str]]:
        """Every value of each query parameter, in the order of the query string."""
        if self._query_all is None:
            from urllib.parse import parse_qsl

            query: dict[str, list[str]] = {}
            for key, value in parse_qsl(self.query_string, keep_blank_values=True):
                query.setdefault(key, []).append(value)
            self._query_all = query
        return self._query_all

    def json(self) -> Any:
        return msgspec.json.decode(self.body)

    def __repr__(self) -> str:
        return f"<HttpRequestEvent {self.method} {self.path}>"


_NO_MESSAGE: Mapping[str, Any] = MappingProxyType({})


class CloudEvent(dict[str, Any]):
    """`event` for other triggers: the CloudEvent (its attributes and `data`) as a
    mapping, also readable as attributes. What of the message is not an attribute
    (`headers`, a Kafka record's `key` and `offset`) is readable only as an attribute:
    the mapping stays a valid CloudEvent that serializes as it is."""

    __slots__ = ("_message",)

    def __init__(self, event: Mapping[str, Any]) -> None:
        super().__init__(event)
        message = self.pop(MESSAGE, None)
        self._message: Mapping[str, Any] = message or _NO_MESSAGE
        if message and message.get(BATCH):
            self["data"] = [CloudEvent(item) for item in self["data"]]

    @property
    def headers(self) -> Mapping[str, Any]:
        """The message's headers (values text when UTF-8, else bytes); empty if none."""
        headers: Mapping[str, Any] = self._message.get("headers", _NO_MESSAGE)
        return headers

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never an attribute; also guards the unset slot
            raise AttributeError(name)
        value = self.get(name, _NO_MESSAGE)
        if value is _NO_MESSAGE:
            try:
                return self._message[name]
            except KeyError:
                raise AttributeError(name) from None
        return value

    def __missing__(self, key: str) -> Any:
        if key in getattr(self, "_message", _NO_MESSAGE):
            raise KeyError(f"{key!r} is not a CloudEvents attribute: read event.{key}")
        raise KeyError(key)


def make_event(event: HttpLike | Mapping[str, Any]) -> HttpRequestEvent | CloudEvent:
    # The exact-type test first: CloudEvents arrive as dicts, and an ABC check is slow.
    if type(event) is dict or isinstance(event, Mapping):
        return CloudEvent(event)
    return HttpRequestEvent(event)


class Context:
    """`context`: who is being invoked, why, and how long is left."""

    __slots__ = ("_deadline", "_logger", "alias", "function", "request_id", "revision",
                 "traceparent", "trigger")  # fmt: skip

    def __init__(
        self,
        function: str,
        revision: int,
        alias: str,
        request_id: str,
        trigger: str,
        deadline: float,
        traceparent: str | None = None,
    ) -> None:
        self.function = function
        self.revision = revision
        self.alias = alias
        self.request_id = request_id
        self.trigger = trigger
        self._deadline = deadline  # time.monotonic() seconds
        # W3C traceparent of the span this invocation runs under (the caller's trace,
        # a span of the gateway's own), for the handler's outgoing calls; None untraced.
        self.traceparent = traceparent
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
