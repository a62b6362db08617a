"""What the data plane's HTTP server refuses before a request reaches the gateway: the
limits, the answers it gives, and the counts /metrics shows.

Defaults, and why:
- `header_timeout_s` 10 s for the whole request head (request line and headers), from
  the connection's accept for its first request and from the first byte for the next
  ones. nginx's `client_header_timeout` is 60 s, Node's `headersTimeout` 60 s and
  Apache's mod_reqtimeout 20-40 s; a head is one packet for any real client, and 10 s is
  still generous on a bad mobile link while a slowloris holds a connection 6x shorter.
- `max_header_bytes` 32 KiB: nginx's `large_client_header_buffers` (4 x 8k) lets heads
  reach 32k; h11 (uvicorn's other parser) stops at 16 KiB and Node at 16 KiB, Go at 1 MiB.
  The answer is 431 Request Header Fields Too Large (RFC 6585), as Go and Node answer;
  nginx answers 400.
- `max_connections` 4096 open connections: beyond it a connection gets 503 on its first
  request and is closed, as uvicorn's `limit_concurrency` answers.
"""

from __future__ import annotations

import http
import logging
import resource
from collections.abc import Sized
from dataclasses import dataclass
from typing import Literal

import msgspec

log = logging.getLogger("gaia.http")

RefusalReason = Literal["header_timeout", "header_too_large", "too_many_connections", "bad_request"]
REASONS: tuple[RefusalReason, ...] = (
    "header_timeout",
    "header_too_large",
    "too_many_connections",
    "bad_request",
)
# Descriptors beside the data plane's connections: workers, the store, the admin API.
_SPARE_FDS = 1024


@dataclass(frozen=True, kw_only=True)
class HttpLimits:
    header_timeout_s: float = 10.0
    max_header_bytes: int = 32 * 1024
    max_connections: int = 4096
    # An idle kept-alive connection is closed after this; a proxy in front must close
    # its idle upstream connections sooner (deploy/README.md).
    keep_alive_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.header_timeout_s > 0:
            raise ValueError(f"header timeout: expected more than 0s, got {self.header_timeout_s}")
        if self.max_header_bytes < 1024:
            raise ValueError(
                f"max header size: expected at least 1Ki (1024), got {self.max_header_bytes}"
            )
        if self.max_connections < 1:
            raise ValueError(f"max connections: expected at least 1, got {self.max_connections}")
        if not self.keep_alive_s > 0:
            raise ValueError(f"keep-alive timeout: expected more than 0s, got {self.keep_alive_s}")


class HttpCounters:
    """Refusals by reason, the open connections and the requests spliced (passed straight
    to an upstream connection, gateway/http/splice.py), read when /metrics is scraped."""

    __slots__ = ("connections", "refused", "spliced")

    def __init__(self) -> None:
        self.refused: dict[RefusalReason, int] = dict.fromkeys(REASONS, 0)
        self.connections: Sized = ()  # the server's set of open connections, once serving
        self.spliced = 0


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """One kind of refusal: its status, JSON body and headers, built once."""

    reason: RefusalReason
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def raw(self, default_headers: list[tuple[bytes, bytes]]) -> bytes:
        """The whole response, for writing straight to a connection whose request head
        never completed (no request, so no ASGI cycle to answer through)."""
        lines = [f"HTTP/1.1 {self.status} {http.HTTPStatus(self.status).phrase}".encode()]
        lines += [name + b": " + value for name, value in (*default_headers, *self.headers)]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


def refusal(
    reason: RefusalReason, status: int, message: str, *, retry_after_s: int | None = None
) -> Refusal:
    # No request id: the request never reached the gateway, so no log line carries one.
    body = msgspec.json.encode({"error": reason, "message": message, "request_id": None})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if retry_after_s is not None:
        headers.append((b"retry-after", str(retry_after_s).encode()))
    return Refusal(reason=reason, status=status, headers=tuple(headers), body=body)


def refusals(limits: HttpLimits) -> dict[RefusalReason, Refusal]:
    timeout, size = limits.header_timeout_s, limits.max_header_bytes
    return {
        "header_timeout": refusal(
            "header_timeout", 408, f"the request head did not arrive within {timeout:g}s"
        ),
        "header_too_large": refusal(
            "header_too_large", 431, f"the request line and headers are over {size} bytes"
        ),
        "too_many_connections": refusal(
            "too_many_connections",
            503,
            f"the gateway has {limits.max_connections} connections open already",
            retry_after_s=1,
        ),
    }


def ensure_fd_limit(max_connections: int) -> None:
    """Raise this process's open-file limit to what `max_connections` needs, as far as
    the hard limit allows; a cap the descriptors cannot reach would end in failed
    accepts instead of 503s."""
    wanted = max_connections + _SPARE_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < wanted:
            log.warning(
                "--max-connections %d needs about %d open files, but the limit is %d"
                " (ulimit -Hn): connections beyond it will fail to be accepted",
                max_connections,
                wanted,
                raised,
            )
