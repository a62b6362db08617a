"""The seams between the legacy package's parts, so each can be built and tested alone.

The router sees the old API through `Proxy` and the functions through `FunctionCaller`;
the gateway supplies both. Requests and answers cross the seams as plain frozen records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from starlette.types import Receive, Send

from gateway.http.splice import RequestHead, Splice
from legacy.done import SpliceDone

Headers = list[tuple[bytes, bytes]]
Side = Literal["legacy", "function"]


@dataclass(frozen=True, kw_only=True)
class ProxiedRequest:
    """One data-plane request on its way to the old API (or to a function in its place)."""

    method: str
    path: str
    # Raw, as the client sent it; the path above is the decoded ASGI path.
    raw_path: bytes
    query_string: bytes
    # As received: lower-case names, repeated headers kept in order.
    headers: Headers
    # The peer address, for X-Forwarded-For and Forwarded.
    client: tuple[str, int] | None
    scheme: str
    http_version: str
    request_id: str


@dataclass(frozen=True, kw_only=True)
class CapturedResponse:
    """An answer kept in memory to be compared or replayed: the old API's or a function's."""

    status: int
    headers: Headers
    # None when the body passed the capture limit: it was streamed on, not kept.
    body: bytes | None
    duration_s: float


@dataclass(frozen=True, kw_only=True)
class ForwardOutcome:
    """What happened to a request the proxy forwarded."""

    # What the client got: the old API's status, or 502/504 when the old API failed.
    status: int
    # The upstream's name (from gaia.yaml), None when none matched the request.
    upstream: str | None
    # None when the old API answered; else why not: "upstream_unreachable",
    # "upstream_timeout", "no_upstream" (none matched) or "client_gone" (the client left).
    failure: str | None
    duration_s: float
    # The old API's answer, when the caller asked for a capture and the old API answered.
    captured: CapturedResponse | None


class UpstreamError(Exception):
    """The old API could not be asked or did not answer in time; `status` is 502 or 504."""

    def __init__(self, message: str, *, status: int, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class Proxy(Protocol):
    async def forward(
        self,
        request: ProxiedRequest,
        receive: Receive,
        send: Send,
        *,
        body: bytes | None = None,
        capture_limit: int = 0,
    ) -> ForwardOutcome:
        """Send the request to its upstream and stream the answer to the client.

        The request body is streamed from `receive` unless `body` is given (it was read
        already, to be copied to a function). Up to `capture_limit` bytes of the answer
        are also kept in `ForwardOutcome.captured`. An upstream failure is answered to
        the client as JSON 502/504 with the request id, and reported in the outcome.
        """
        ...

    async def fetch(self, request: ProxiedRequest, *, body: bytes, limit: int) -> CapturedResponse:
        """Ask the old API without a client waiting: the whole answer, up to `limit` bytes.

        Raises UpstreamError when the old API fails.
        """
        ...

    def splice(self, head: RequestHead, done: SpliceDone, capture_limit: int) -> Splice | None:
        """The request as the data plane's protocol splices it (`forward` without an ASGI
        cycle), `done` told once when it ends; None when this request cannot be spliced,
        and `forward` serves it. Its arguments are positional: compiled, the proxies call
        each other's at C level, where a keyword-only argument cannot be."""
        ...

    async def aclose(self) -> None: ...


class FunctionUnavailable(Exception):
    """The function could not answer: it raised, timed out, was shed or is not deployed."""

    def __init__(
        self, message: str, *, status: int, reason: str, headers: Headers | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        # What an HTTP trigger's error answer carries besides the JSON (Retry-After, the
        # revision that failed).
        self.headers: Headers = headers or []


@dataclass(frozen=True, kw_only=True)
class FunctionAnswer:
    response: CapturedResponse
    # `fn@N`, what served it.
    revision: str


class FunctionCaller(Protocol):
    def sticky_key(self, target: str, request: ProxiedRequest) -> str | None:
        """The request's value of `target`'s alias sticky key, None when it has none."""
        ...

    async def call(
        self,
        target: str,
        request: ProxiedRequest,
        body: bytes,
        *,
        params: Mapping[str, str] | None = None,
    ) -> FunctionAnswer:
        """Invoke `target` (`fn` or `fn:alias`) as an HTTP trigger would, with `params`
        the route pattern's parameters (`event.params`).

        Raises FunctionUnavailable when it gives no answer; an answer with a 5xx status
        is returned, and the caller decides whether that counts as a failure.
        """
        ...


@dataclass(frozen=True, kw_only=True)
class SideFigures:
    """One side of a route (the old API's answers or the function's) over a window."""

    requests: int
    # 5xx answers, unreachable or timed-out upstreams, and functions that gave no answer.
    errors: int
    error_rate: float | None
    p50_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, kw_only=True)
class Mismatch:
    """One shadow comparison that differed: what differed, as a readable diff."""

    request: str
    # JSON paths (`$.items[0].price`), `status`, or `header:NAME`, each with both values.
    differences: tuple[str, ...]
    at: float


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """What a ledger route has shown since it entered its current state."""

    since: float
    # Client requests on the route, and how many of them a function answered.
    requests: int
    served_by_function: int
    legacy: SideFigures
    function: SideFigures
    # Shadow comparisons made, how many differed, and the copies never compared because
    # the shadow queue was full.
    samples: int
    mismatches: int
    mismatch_rate: float | None
    shadow_dropped: int
    # Requests not copied because the request body or the old API's answer passed the
    # capture limit, or an unsafe method on a route without shadow_unsafe.
    shadow_skipped: int = 0
    # JSON paths learned as noise: they differ between two answers of the old API itself.
    noise_paths: tuple[str, ...]
    example: Mismatch | None


@dataclass(frozen=True, kw_only=True)
class DiscoveredRoute:
    """A route of the old API learned from proxied traffic: ids clustered into `{id}`."""

    pattern: str
    # Requests per method.
    methods: Mapping[str, int]
    requests: int
    # Of all requests the old API was asked.
    share: float
    error_rate: float
    p50_ms: float | None
    p99_ms: float | None


class Observations(Protocol):
    """What the router has seen, for the gates, `gaia migrate status` and `discover`."""

    def evidence(self, path: str) -> Evidence | None:
        """The ledger route with this path pattern: None when the ledger has none."""
        ...

    def discovered(self) -> list[DiscoveredRoute]:
        """Learned routes, most traffic first."""
        ...

    def totals(self) -> tuple[int, int]:
        """Requests that reached the legacy layer, and how many of them functions answered."""
        ...
