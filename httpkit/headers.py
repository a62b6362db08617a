"""Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, so a hop drops them.

Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer,
Transfer-Encoding and Upgrade. And how a request's body is framed, which a hop must
know to pass it on.
"""

from __future__ import annotations

import functools

Headers = list[tuple[bytes, bytes]]

_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)


def _connection_named(headers: Headers) -> frozenset[bytes] | None:
    named: set[bytes] | None = None
    for name, value in headers:
        if name == b"connection":
            if named is None:
                named = set()
            named.update(token.strip().lower() for token in value.split(b","))
    return None if named is None else frozenset(named)


@functools.lru_cache(maxsize=32)
def _dropped(also_drop: frozenset[bytes]) -> frozenset[bytes]:
    # Callers pass module constants: the union is made once each, not per request.
    return _HOP_BY_HOP | also_drop


def end_to_end(headers: Headers, *, also_drop: frozenset[bytes] = frozenset()) -> Headers:
    """`headers` without the hop-by-hop ones (and `also_drop`): what any hop forwards."""
    drop = _dropped(also_drop)
    named = _connection_named(headers)
    if named is not None:
        drop = drop | named
    return [field for field in headers if field[0] not in drop and field[0][:6] != b"proxy-"]


def request_body_length(headers: Headers) -> tuple[bool, int | None]:
    """Whether the client's request has a body, and its length when it was given.

    A chunked body has no length; a request with neither header has no body (RFC 9112 6.3).
    """
    chunked = False
    for name, value in headers:
        if name == b"content-length" and value.isdigit():
            return True, int(value)
        if name == b"transfer-encoding":
            chunked = True
    return chunked, None
