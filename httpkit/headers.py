"""Hop-by-hop headers (RFC 9110 7.6.1): they describe one connection, so a hop drops them.

Connection and every header it names, Keep-Alive, Proxy-*, TE, Trailer,
Transfer-Encoding and Upgrade.
"""

from __future__ import annotations

Headers = list[tuple[bytes, bytes]]

_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)


def _connection_named(headers: Headers) -> frozenset[bytes]:
    named: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            named.update(token.strip().lower() for token in value.split(b","))
    return frozenset(named)


def end_to_end(headers: Headers, *, also_drop: frozenset[bytes] = frozenset()) -> Headers:
    """`headers` without the hop-by-hop ones (and `also_drop`): what any hop forwards."""
    named = _connection_named(headers)
    return [
        (name, value)
        for name, value in headers
        if name not in _HOP_BY_HOP
        and name not in named
        and name not in also_drop
        and not name.startswith(b"proxy-")
    ]
