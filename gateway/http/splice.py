"""Splicing: requests the data plane's protocol passes straight to an upstream connection.

A request normally goes through uvicorn's ASGI cycle: a scope, an Event and a Task per
request, and a `send` per message. A request that only has to be passed on to another
HTTP server and its answer passed back needs none of that, and in Python that cycle is
most of what such a request costs. So the protocol (gateway/http/protocol.py) asks, for
each request head, whether it can be spliced; when it can, gateway/http/exchange.py
writes the head to a pooled upstream connection, streams the body, and relays the answer
as httptools parses it, all in the connection's callbacks.

The seam, with nothing in gateway naming who uses it:
- the protocol asks its `Splicer` (the data plane) with the `RequestHead`; the answer is
  a `Splice`, or None for the ASGI cycle as before;
- a `Splice` is the connection source (an httpkit pool and the `Origin` to take from),
  the head rewrite (the upstream's request target and headers, and the headers the
  client gets back; the exchange adds the body's framing and the response's), the
  answer for an upstream that fails before its answer began (`failure`), how much of
  the exchange to keep (`capture_limit`), the completion callback (`finished`), and
  whether a connection that could not be made is tried on another origin (`reroute`);
- when the exchange is over the splice's `finished` and then the splicer's `spliced`
  are called with the `SpliceOutcome`, exactly once.
`Splice` and `Splicer` are base classes, not Protocols: compiled, the exchange reads a
splice's fields and calls both through the vtable, not as Python-level calls.
The legacy proxy provides splices (legacy/proxy/splice.py), and so does the HTTP trigger
for functions whose instances serve HTTP themselves (triggers/http/splice.py).

The per-request records here are plain classes with slots, not frozen dataclasses:
they are made for every spliced request, and a frozen dataclass costs several times as
much to build. The wire and the exchange make them with `make_head` and `make_outcome`:
compiled, a C-level call filling the C struct, where calling the class parses an argument
tuple (and keywords, a dict: about 4000 machine instructions against 3100 for
RequestHead).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

from httpkit.client import ClientError, HttpClient, Origin

Headers = list[tuple[bytes, bytes]]

# The failure recorded for a client that left before its answer was whole.
CLIENT_GONE = "client_gone"


class RequestHead:
    """A request's head as the protocol parsed it: what decides where it goes."""

    __slots__ = (
        "at",
        "chunked",
        "client",
        "content_length",
        "headers",
        "http_version",
        "keep_alive",
        "log_fields",
        "method",
        "path",
        "query_string",
        "raw_path",
        "request_id",
        "scheme",
    )

    def __init__(
        self,
        method: str,
        path: str,
        raw_path: bytes,
        query_string: bytes,
        headers: Headers,
        client: tuple[str, int] | None,
        scheme: str,
        http_version: str,
        keep_alive: bool,
        content_length: int | None = None,
        chunked: bool = False,
    ) -> None:
        self._fill(
            method,
            path,
            raw_path,
            query_string,
            headers,
            client,
            scheme,
            http_version,
            keep_alive,
            content_length,
            chunked,
        )

    def _fill(
        self,
        method: str,
        path: str,
        raw_path: bytes,
        query_string: bytes,
        headers: Headers,
        client: tuple[str, int] | None,
        scheme: str,
        http_version: str,
        keep_alive: bool,
        content_length: int | None,
        chunked: bool,
    ) -> None:
        self.method = method
        # Percent-decoded, as an ASGI scope's `path`; `raw_path` as the client sent it.
        self.path = path
        self.raw_path = raw_path
        self.query_string = query_string
        # Lower-case names, in order, repeated ones kept.
        self.headers = headers
        self.client = client
        self.scheme = scheme
        self.http_version = http_version
        # Whether the client's connection stays open after the answer.
        self.keep_alive = keep_alive
        # The body's framing, as `headers` give it (httpkit.headers.request_body_length):
        # its Content-Length, or chunked; neither, no body.
        self.content_length = content_length
        self.chunked = chunked
        # Set by the splicer that takes the request: its id (for the answer's
        # x-request-id and the access log) and when it arrived (time.time()).
        self.request_id = ""
        self.at = 0.0
        # The splicer's own: what its record of the request says of where it went.
        self.log_fields: dict[str, object] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Failure:
    """The answer to a request whose upstream failed before its answer began."""

    status: int
    error: str
    message: str
    # Headers the answer carries besides the data plane's error headers.
    headers: tuple[tuple[bytes, bytes], ...] = ()


class Capture:
    """Up to `limit` bytes of a body passed on, kept for the caller to compare."""

    __slots__ = ("_kept", "_limit", "_size")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._kept: list[bytes] | None = [] if limit > 0 else None
        self._size = 0

    def add(self, data: bytes) -> None:
        if self._kept is not None:
            self._size += len(data)
            if self._size > self._limit:
                self._kept = None
            else:
                self._kept.append(data)

    def body(self) -> bytes | None:
        """The whole body, None when it passed the limit."""
        return None if self._kept is None else b"".join(self._kept)


class Captured:
    """The upstream's answer as the completion callback gets it (`capture_limit` > 0)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Headers, body: bytes | None) -> None:
        self.status = status
        # As the upstream sent them (lower-case names), before the client's rewrite.
        self.headers = headers
        # None when the body passed the capture limit: it was passed on, not kept.
        self.body = body


class SpliceOutcome:
    """How a spliced request ended."""

    __slots__ = ("answer", "duration_s", "failure", "request_body", "status")

    def __init__(
        self,
        status: int,
        failure: str | None,
        duration_s: float,
        request_body: bytes | None,
        answer: Captured | None,
    ) -> None:
        self._fill(status, failure, duration_s, request_body, answer)

    def _fill(
        self,
        status: int,
        failure: str | None,
        duration_s: float,
        request_body: bytes | None,
        answer: Captured | None,
    ) -> None:
        # What the client got: the upstream's status, or the failure answer's.
        self.status = status
        # None when the upstream answered whole; else the `Failure.error` of what went
        # wrong, or CLIENT_GONE.
        self.failure = failure
        self.duration_s = duration_s
        # With a capture limit: the request body (None when it passed the limit), and
        # the upstream's answer when it came whole.
        self.request_body = request_body
        self.answer = answer


def make_head(
    method: str,
    path: str,
    raw_path: bytes,
    query_string: bytes,
    headers: Headers,
    client: tuple[str, int] | None,
    scheme: str,
    http_version: str,
    keep_alive: bool,
) -> RequestHead:
    """`RequestHead(...)` with no body, but compiled a C-level call (no argument tuple
    to parse, as a call of the class has)."""
    head = RequestHead.__new__(RequestHead)
    head._fill(
        method,
        path,
        raw_path,
        query_string,
        headers,
        client,
        scheme,
        http_version,
        keep_alive,
        None,
        False,
    )
    return head


def make_outcome(
    status: int,
    failure: str | None,
    duration_s: float,
    request_body: bytes | None,
    answer: Captured | None,
) -> SpliceOutcome:
    """`SpliceOutcome(...)`, but compiled a C-level call."""
    outcome = SpliceOutcome.__new__(SpliceOutcome)
    outcome._fill(status, failure, duration_s, request_body, answer)
    return outcome


class Splice:
    """Where a spliced request goes and what happens around it.

    A base class rather than a Protocol, so that compiled (setup.py) the exchange reads
    its fields and calls its methods at C level (splice.pxd declares them): every splice
    derives from it, sets the six fields when it is made, and overrides
    `response_headers` and `failure` (`reroute` and `finished` do nothing unless
    overridden). A Python subclass's overrides are called as well."""

    __slots__ = ("capture_limit", "client", "deadline_s", "headers", "origin", "target")

    # The pool the upstream connection is taken from (or opened through), and where to.
    client: HttpClient
    origin: Origin
    # The request target the upstream gets (path and query).
    target: bytes
    # The request headers the upstream gets, without the body's framing.
    headers: Headers
    # Keep the request body and the answer up to this many bytes each (0: nothing).
    capture_limit: int
    # How long the whole answer may take from the head's arrival, as a function's timeout
    # bounds its invocation (None: only the client's read timeout, which runs between
    # reads, as a proxy's does).
    deadline_s: float | None

    def response_headers(self, status: int, headers: Headers) -> Headers:
        """The headers the client gets for the upstream's; the framing is the exchange's."""
        raise NotImplementedError

    def failure(self, error: ClientError) -> Failure | Awaitable[Failure]:
        """The answer for an upstream that failed before its answer began; an awaitable
        when saying why takes a moment (a process's exit, say). It must not raise."""
        raise NotImplementedError

    def reroute(self, error: ClientError) -> bool:
        """No connection to `origin` was made, so the upstream saw nothing: True when the
        splice now names another origin to try instead (False: `failure` answers)."""
        return False

    def finished(self, outcome: SpliceOutcome) -> None:
        """The exchange is over (called once, before the splicer's `spliced`)."""
        return None


class Splicer:
    """Decides, per request head, whether the protocol splices it (the data plane): a base
    class, as `Splice` is, so that the protocol's wire and the exchange call it at C level."""

    __slots__ = ()

    def splice(self, head: RequestHead) -> Splice | None:
        """The splice for this request, or None for the ASGI cycle."""
        raise NotImplementedError

    def spliced(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        """A spliced request ended (after its splice's `finished`)."""
        return None

    def error_answer(
        self, error: str, message: str, request_id: str
    ) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """The headers and body of the data plane's JSON error, for a splice that failed
        before its answer began (the same shape as every other error it answers)."""
        raise NotImplementedError
