"""Hop-by-hop headers, and how a request's body is framed, which a hop needs to pass it on."""

from __future__ import annotations

import random

from httpkit.headers import Headers, end_to_end, end_to_end_without, request_body_length

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
        b"proxy-",
        b"proxy",
        b"pragma",
        # The lengths of dropped names, differing in a byte: compared whole, not by length.
        b"connectiom",
        b"upgradf",
        b"tf",
        b"x-long-" + b"n" * 70,
        b"x-long-" + b"m" * 70,
        # Either side of the longest name looked up by its length.
        b"x-edge-" + b"e" * 56,
        b"x-edge-" + b"e" * 57,
    ]
    long_name = b"x-long-" + b"n" * 70
    sets = [
        frozenset(),
        frozenset({b"host"}),
        frozenset({b"x-a", b"date"}),
        frozenset({long_name, b"te", b"accept"}),
        frozenset({b"x-edge-" + b"e" * 56, b"x-edge-" + b"e" * 57}),
        # More sets than are kept: the ones after are built again, the same way.
        *(frozenset({b"x-gen-%d" % n}) for n in range(40)),
    ]
    # The names the last sets drop, and ten none does.
    names += [b"x-gen-%d" % n for n in range(50)]
    for _ in range(3000):
        headers = [(rng.choice(names), b"v") for _ in range(rng.randrange(8))]
        # One Connection header or two, each naming two fields (hop-by-hop ones too).
        for _ in range(rng.choice((0, 0, 0, 0, 0, 1, 1, 2))):
            listed = rng.sample([b"x-a", b"X-B ", b"accept", b"keep-alive", b"close"], 2)
            headers.insert(rng.randrange(len(headers) + 1), (b"connection", b",".join(listed)))
        also_drop = rng.choice(sets[:4] if rng.random() < 0.7 else sets)
        expected = _forwarded(headers, also_drop)
        assert end_to_end(headers, also_drop=also_drop) == expected
        assert end_to_end_without(headers, also_drop) == expected


def test_connection_values_past_those_remembered_still_drop_what_they_name() -> None:
    # A client may send any Connection value: more distinct ones than are remembered
    # (httpkit keeps 1,024), then the first ones again once forgotten.
    values = [b"x-named-%d, keep-alive" % n for n in range(1500)]
    for value in [*values, *values[:50]]:
        named = value.split(b",")[0]
        headers = [(b"connection", value), (named, b"v"), (b"x-kept", b"v")]
        expected = _forwarded(headers, frozenset())
        assert expected == [(b"x-kept", b"v")]
        assert end_to_end_without(headers, frozenset()) == expected


def test_request_body_framing() -> None:
    assert request_body_length([(b"content-length", b"12")]) == (True, 12)
    assert request_body_length([(b"transfer-encoding", b"chunked")]) == (True, None)
    assert request_body_length([(b"accept", b"*/*")]) == (False, None)
