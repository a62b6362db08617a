"""The headers a server gaia reaches over HTTP gets (runtime_adapters/upstream.py), and
those of its answer the client gets when a request is passed on as it comes
(triggers/http/splice.py).

Compiled by setup.py with the types in upstream_headers.pxd beside it: a request
spliced to an instance calls it twice, from compiled code. The module runs as it is
without them.
"""

from __future__ import annotations

from httpkit.headers import end_to_end_without

_REQUEST_DROP = frozenset({b"content-length"})
# A request passed on as it comes (`passed_headers`): its framing is the relay's, and
# Expect is answered by the gateway's own server. Its answer keeps its length (the relay
# frames the client's answer by it).
_PASSED_DROP = frozenset({b"content-length", b"expect"})
_DATE = frozenset({b"date"})


def sent_headers(
    headers: list[tuple[bytes, bytes]], host: bytes, drop: frozenset[bytes] = _REQUEST_DROP
) -> list[tuple[bytes, bytes]]:
    """The headers a server gets: the client's end-to-end ones but `drop`, the client's
    Host kept (a server may serve several), else `host`."""
    sent = end_to_end_without(headers, drop)
    for name, _ in sent:
        if name == b"host":
            return sent
    sent.append((b"host", host))
    return sent


def passed_headers(headers: list[tuple[bytes, bytes]], host: bytes) -> list[tuple[bytes, bytes]]:
    """`sent_headers` for a request whose body is relayed as it comes, not sent whole."""
    return sent_headers(headers, host, _PASSED_DROP)


def passed_answer_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers of a server's answer as the client gets them when it is relayed:
    the end-to-end ones, Content-Length kept for the relay's framing, Date the gateway's."""
    return end_to_end_without(headers, _DATE)
