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


# Per `also_drop` a caller passes (module constants, so a few): the names dropped, by
# length. A header name comes fresh from the parser, so a set or dict lookup hashes it
# each time; comparing it with the few dropped names of its length (most lengths have
# none) costs a fraction of that. Names of _SHORT bytes or more are looked up in the set.
_TABLES: dict[frozenset[bytes], list[tuple[bytes, ...]]] = {}
_SETS_KEPT = 32
_SHORT = 64
_NAMES_KEPT = 1024
_CONNECTION_NAMES: dict[bytes, frozenset[bytes]] = {}
_P = 0x70  # b"p"[0]: most names are not Proxy-*, and their first byte says so cheaply


def end_to_end(headers: Headers, *, also_drop: frozenset[bytes] = frozenset()) -> Headers:
    """`headers` without the hop-by-hop ones (and `also_drop`): what any hop forwards."""
    return end_to_end_without(headers, also_drop)


def end_to_end_without(headers: Headers, also_drop: frozenset[bytes]) -> Headers:
    """`end_to_end` for compiled callers (headers.pxd): typed functions take no
    keyword-only argument, and a C-level call skips the Python one."""
    table = _dropped_by_length(also_drop)
    kept: Headers = []
    named: frozenset[bytes] | None = None
    # One pass for the common case; the headers Connection names need a second.
    for field in headers:
        name = field[0]
        size = len(name)
        dropped = False
        if size < _SHORT:
            for candidate in table[size]:
                if name == candidate:
                    dropped = True
                    break
        else:
            dropped = name in also_drop
        if not dropped and size >= 6 and name[0] == _P and name.startswith(b"proxy-"):
            dropped = True
        if not dropped:
            kept.append(field)
        elif size == 10 and name == b"connection":
            listed = _connection_names(field[1])
            if listed:
                named = listed if named is None else named | listed
    if named:
        passed: Headers = []
        for field in kept:
            if field[0] not in named:
                passed.append(field)
        return passed
    return kept


def _dropped_by_length(also_drop: frozenset[bytes]) -> list[tuple[bytes, ...]]:
    """The hop-by-hop names and `also_drop`, in one tuple per length below _SHORT."""
    table = _TABLES.get(also_drop)
    if table is None:
        rows: list[list[bytes]] = [[] for _ in range(_SHORT)]
        for name in _HOP_BY_HOP | also_drop:
            if len(name) < _SHORT:
                rows[len(name)].append(name)
        table = [tuple(row) for row in rows]
        if len(_TABLES) >= _SETS_KEPT:
            _TABLES.clear()
        _TABLES[also_drop] = table
    return table


def _connection_names(value: bytes) -> frozenset[bytes]:
    """The headers a Connection header's `value` names that are not hop-by-hop anyway
    (none for the usual `keep-alive` or `close`: no second pass); kept per value, up to
    _NAMES_KEPT values, as a client may send any."""
    listed = _CONNECTION_NAMES.get(value)
    if listed is None:
        tokens = frozenset(token.strip().lower() for token in value.split(b","))
        listed = tokens - _HOP_BY_HOP
        if len(_CONNECTION_NAMES) >= _NAMES_KEPT:
            _CONNECTION_NAMES.clear()
        _CONNECTION_NAMES[value] = listed
    return listed


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
