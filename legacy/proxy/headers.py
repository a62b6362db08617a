"""The headers a proxied request and its answer carry across the gateway (RFC 9110 7.6).

Hop-by-hop headers describe one connection, so they stop here, both ways: Connection and
every header it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding and Upgrade.
The request gains X-Forwarded-For (the peer appended to any the client sent),
X-Forwarded-Proto and X-Forwarded-Host, as nginx's usual reverse-proxy setup sets them;
an incoming `Forwarded` header passes unchanged.
"""

from __future__ import annotations

from typing import Protocol

from httpkit.headers import HOP_BY_HOP, end_to_end
from legacy.ports import Headers

# Set again by the proxy; the body's framing (Content-Length) is the client's to write,
# and Expect was answered to the client already by the gateway's own server, as nginx does.
_REPLACED = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"content-length", b"expect"}
)

# The gateway's server writes its own Date, as nginx does.
_OWN = frozenset({b"date"})


class Forwarded(Protocol):
    """What the forwarding headers are made from: a `ProxiedRequest`, or the head of a
    request the data plane splices (`gateway.http.splice.RequestHead`)."""

    @property
    def headers(self) -> Headers: ...

    @property
    def client(self) -> tuple[str, int] | None: ...

    @property
    def scheme(self) -> str: ...


# One pass over a request without a Connection header (nearly all): each name looked up
# once here. Connection names headers to drop as well, so a request with one takes the
# general way (`end_to_end`'s two passes).
# Passed on; dropped; Connection; dropped, its value gathered; passed on, its value noted.
_PASS, _DROP, _CONNECTION, _GATHER, _NOTE = range(5)
_REQUEST_KINDS = {
    **dict.fromkeys(HOP_BY_HOP | _REPLACED, _DROP),
    b"connection": _CONNECTION,
    b"x-forwarded-for": _GATHER,
    b"host": _NOTE,
}
_SCHEMES = {"http": b"http", "https": b"https"}


def upstream_request_headers(request: Forwarded, default_host: bytes) -> Headers:
    """The headers the old API gets: the client's end-to-end ones, Host kept (or
    `default_host` for a client that sent none, as HTTP/1.0 allows), plus the
    X-Forwarded-* trio."""
    passed = _one_pass(request.headers, _REQUEST_KINDS)
    if passed is None:
        return _rewritten(request, default_host)
    headers, forwarded_for, host = passed
    return _forwarded(request, headers, forwarded_for, host, default_host)


def _one_pass(
    headers: Headers, kinds: dict[bytes, int]
) -> tuple[Headers, list[bytes], bytes | None] | None:
    """`headers` sorted by `kinds`: those passed on, the values gathered, and the first
    value noted; None when a Connection header needs the general way."""
    kept: Headers = []
    gathered: list[bytes] = []
    noted: bytes | None = None
    for field in headers:
        name = field[0]
        kind = kinds.get(name, _PASS)
        if kind == _PASS:
            if not name.startswith(b"proxy-"):
                kept.append(field)
        elif kind == _NOTE:
            kept.append(field)
            if noted is None:
                noted = field[1]
        elif kind == _GATHER:
            gathered.append(field[1])
        elif kind == _CONNECTION:
            return None
    return kept, gathered, noted


def _rewritten(request: Forwarded, default_host: bytes) -> Headers:
    """`upstream_request_headers` for a request with a Connection header."""
    headers = end_to_end(request.headers, also_drop=_REPLACED)
    forwarded_for: list[bytes] = []
    host: bytes | None = None
    for name, value in request.headers:
        if name == b"x-forwarded-for":
            forwarded_for.append(value)
        elif name == b"host" and host is None:
            host = value
    return _forwarded(request, headers, forwarded_for, host, default_host)


def _forwarded(
    request: Forwarded,
    headers: Headers,
    forwarded_for: list[bytes],
    host: bytes | None,
    default_host: bytes,
) -> Headers:
    """`headers` (the end-to-end ones) with the X-Forwarded-* trio and a Host."""
    if request.client is not None:
        forwarded_for.append(request.client[0].encode("latin-1"))
    if forwarded_for:
        headers.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    scheme = request.scheme
    headers.append((b"x-forwarded-proto", _SCHEMES.get(scheme) or scheme.encode("latin-1")))
    if host is not None:
        headers.append((b"x-forwarded-host", host))
    else:
        headers.insert(0, (b"host", default_host))
    return headers


# The answer's headers in one pass, as the request's (`_REQUEST_KINDS`).
_ANSWER_KINDS = {
    **dict.fromkeys(HOP_BY_HOP | _OWN, _DROP),
    b"connection": _CONNECTION,
    b"x-request-id": _NOTE,
}


def client_response_headers(headers: Headers, request_id: str) -> Headers:
    """The headers the client gets: the old API's end-to-end ones but Date, plus
    X-Request-Id when the old API set none."""
    passed = _one_pass(headers, _ANSWER_KINDS)
    if passed is None:
        return _client_rewritten(headers, request_id)
    kept, _, own_id = passed
    if own_id is None:
        kept.append((b"x-request-id", request_id.encode("latin-1")))
    return kept


def _client_rewritten(headers: Headers, request_id: str) -> Headers:
    """`client_response_headers` for an answer with a Connection header."""
    kept = end_to_end(headers, also_drop=_OWN)
    for name, _ in kept:
        if name == b"x-request-id":
            return kept
    kept.append((b"x-request-id", request_id.encode("latin-1")))
    return kept
