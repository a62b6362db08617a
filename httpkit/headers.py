"""Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, so a hop drops them.

Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer,
Transfer-Encoding and Upgrade. And how a request's body is framed, which a hop must
know to pass it on.
"""

from __future__ import annotations

Headers = list[tuple[bytes, bytes]]

_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
# For rewrites that look each name up once (and pass Connection's to `end_to_end`).
HOP_BY_HOP = _HOP_BY_HOP


# The union with each `also_drop` a caller passes (module constants, so a few): made once
# each, not per request, and a dict lookup is cheaper than an lru_cache call.
_DROPPED: dict[frozenset[bytes], frozenset[bytes]] = {}
_DROPPED_KEPT = 32


def end_to_end(headers: Headers, *, also_drop: frozenset[bytes] = frozenset()) -> Headers:
    """`headers` without the hop-by-hop ones (and `also_drop`): what any hop forwards."""
    drop = _DROPPED.get(also_drop)
    if drop is None:
        if len(_DROPPED) >= _DROPPED_KEPT:
            _DROPPED.clear()
        drop = _DROPPED[also_drop] = _HOP_BY_HOP | also_drop
    kept: Headers = []
    named: set[bytes] | None = None
    # One pass for the common case; the headers Connection names need a second.
    for field in headers:
        name = field[0]
        if name in drop or name.startswith(b"proxy-"):
            if name == b"connection":
                if named is None:
                    named = set()
                named.update(token.strip().lower() for token in field[1].split(b","))
        else:
            kept.append(field)
    if named:
        return [field for field in kept if field[0] not in named]
    return kept


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
