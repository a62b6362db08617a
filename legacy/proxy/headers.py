"""The headers a proxied request and its answer carry across the gateway (RFC 9110 7.6).

Hop-by-hop headers describe one connection, so they stop here, both ways: Connection and
every header it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding and Upgrade.
The request gains X-Forwarded-For (the peer appended to any the client sent),
X-Forwarded-Proto and X-Forwarded-Host, as nginx's usual reverse-proxy setup sets them;
an incoming `Forwarded` header passes unchanged.
"""

from __future__ import annotations

from typing import Protocol

from httpkit.headers import end_to_end_without
from legacy.ports import Headers

# Set again by the proxy; the body's framing (Content-Length) is the client's to write,
# and Expect was answered to the client already by the gateway's own server, as nginx does.
_REPLACED = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"content-length", b"expect"}
)

# The gateway's server writes its own Date, as nginx does.
_OWN = frozenset({b"date"})

# The proto header as nearly every request has it: made once, not per request.
_PROTO_HTTP = (b"x-forwarded-proto", b"http")
_PROTO_HTTPS = (b"x-forwarded-proto", b"https")


class Forwarded(Protocol):
    """What the forwarding headers are made from: a `ProxiedRequest`, or the head of a
    request the data plane splices (`gateway.http.splice.RequestHead`)."""

    @property
    def headers(self) -> Headers: ...

    @property
    def client(self) -> tuple[str, int] | None: ...

    @property
    def scheme(self) -> str: ...


def upstream_request_headers(request: Forwarded, default_host: bytes) -> Headers:
    """The headers the old API gets: the client's end-to-end ones, Host kept (or
    `default_host` for a client that sent none, as HTTP/1.0 allows), plus the
    X-Forwarded-* trio."""
    return forwarded_headers(request.headers, request.client, request.scheme, default_host)


def forwarded_headers(
    received: Headers, client: tuple[str, int] | None, scheme: str, default_host: bytes
) -> Headers:
    """`upstream_request_headers` of a request's parts: what a spliced request's head
    gives without a lookup of each by name."""
    headers = end_to_end_without(received, _REPLACED)
    # The X-Forwarded-For values joined as they come: a request has one or none, and a
    # list and a join cost more than the one concatenation.
    forwarded_for: bytes | None = None
    host: bytes | None = None
    for name, value in received:
        if name == b"x-forwarded-for":
            forwarded_for = value if forwarded_for is None else forwarded_for + b", " + value
        elif name == b"host" and host is None:
            host = value
    if client is not None:
        address: str = client[0]
        peer = address.encode("latin-1")
        forwarded_for = peer if forwarded_for is None else forwarded_for + b", " + peer
    if forwarded_for is not None:
        headers.append((b"x-forwarded-for", forwarded_for))
    if scheme == "http":
        headers.append(_PROTO_HTTP)
    elif scheme == "https":
        headers.append(_PROTO_HTTPS)
    else:
        headers.append((b"x-forwarded-proto", scheme.encode("latin-1")))
    if host is not None:
        headers.append((b"x-forwarded-host", host))
    else:
        headers.insert(0, (b"host", default_host))
    return headers


def client_response_headers(headers: Headers, request_id: str) -> Headers:
    """The headers the client gets: the old API's end-to-end ones but Date, plus
    X-Request-Id when the old API set none."""
    kept = end_to_end_without(headers, _OWN)
    for name, _ in kept:
        if name == b"x-request-id":
            return kept
    kept.append((b"x-request-id", request_id.encode("latin-1")))
    return kept
