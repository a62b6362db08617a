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


# Per `also_drop` a caller passes (module constants, so a few): whether each name seen is
# dropped. Looking a name up costs a third of deciding it (a `startswith` call each time);
# the names a gateway sees are few, but a client may send any, so at most _NAMES_KEPT are
# kept per set and the rest decided each time.
_VERDICTS: dict[frozenset[bytes], dict[bytes, bool]] = {}
_SETS_KEPT = 32
_NAMES_KEPT = 1024
_CONNECTION_NAMES: dict[bytes, frozenset[bytes]] = {}


def end_to_end(headers: Headers, *, also_drop: frozenset[bytes] = frozenset()) -> Headers:
    """`headers` without the hop-by-hop ones (and `also_drop`): what any hop forwards."""
    return _end_to_end(headers, also_drop)


def _end_to_end(headers: Headers, also_drop: frozenset[bytes]) -> Headers:
    # Apart from end_to_end for Cython (headers.pxd), whose typed functions take no
    # keyword-only argument.
    verdicts = _VERDICTS.get(also_drop)
    if verdicts is None:
        if len(_VERDICTS) >= _SETS_KEPT:
            _VERDICTS.clear()
        verdicts = _VERDICTS[also_drop] = {}
    kept: Headers = []
    named: frozenset[bytes] | None = None
    # One pass for the common case; the headers Connection names need a second.
    for field in headers:
        name = field[0]
        dropped = verdicts.get(name)
        if dropped is None:
            dropped = name in _HOP_BY_HOP or name in also_drop or name.startswith(b"proxy-")
            if len(verdicts) < _NAMES_KEPT:
                verdicts[name] = dropped
        if not dropped:
            kept.append(field)
        elif name == b"connection":
            listed = _connection_names(field[1])
            if listed:
                named = listed if named is None else named | listed
    if named:
        return [field for field in kept if field[0] not in named]
    return kept


def _connection_names(value: bytes) -> frozenset[bytes]:
    """The headers a Connection header's `value` names that are not hop-by-hop anyway
    (none for the usual `keep-alive` or `close`: no second pass); kept per value, as
    the verdicts are."""
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
