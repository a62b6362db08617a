"""Hop-by-hop headers, and how a request's body is framed, which a hop needs to pass it on."""

from __future__ import annotations

import random

from httpkit.headers import Headers, end_to_end, request_body_length

_HOP = {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade"}


def _forwarded(headers: Headers, also_drop: frozenset[bytes]) -> Headers:
    """RFC 9110 7.6.1 as written: the hop-by-hop fields, Proxy-*, `also_drop`, and every
    field a Connection header names."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name == b"connection"
        for token in value.split(b",")
    }
    return [
        (name, value)
        for name, value in headers
        if name not in _HOP | also_drop | named and not name.startswith(b"proxy-")
    ]


def test_end_to_end_drops_what_a_hop_must_whatever_names_came_before() -> None:
    rng = random.Random(7)
    names = [
        *_HOP,
        b"proxy-authorization",
        b"proxy-x",
        b"host",
        b"accept",
        b"x-a",
        b"x-b",
        b"proxyish",
    ]
    sets = [frozenset(), frozenset({b"host"}), frozenset({b"x-a", b"date"})]
    # Past the names kept per set: the ones after are decided each time, the same way.
    names += [b"x-gen-%d" % n for n in range(1500)]
    for _ in range(3000):
        headers = [(rng.choice(names), b"v") for _ in range(rng.randrange(8))]
        # One Connection header or two, each naming two fields (hop-by-hop ones too).
        for _ in range(rng.choice((0, 0, 0, 0, 0, 1, 1, 2))):
            listed = rng.sample([b"x-a", b"X-B ", b"accept", b"keep-alive", b"close"], 2)
            headers.insert(rng.randrange(len(headers) + 1), (b"connection", b",".join(listed)))
        also_drop = rng.choice(sets)
        assert end_to_end(headers, also_drop=also_drop) == _forwarded(headers, also_drop)


def test_request_body_framing() -> None:
    assert request_body_length([(b"content-length", b"12")]) == (True, 12)
    assert request_body_length([(b"transfer-encoding", b"chunked")]) == (True, None)
    assert request_body_length([(b"accept", b"*/*")]) == (False, None)
