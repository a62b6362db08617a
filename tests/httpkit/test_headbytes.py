"""A message head's bytes (httpkit/headbytes.py), against h11's writer as the oracle:
generated requests and answers, each written by both. Compiled, the exchange builds its
heads with the same function in C (httpkit/cheadbytes.pxd); tests/gateway/http/
test_splice.py reads what it writes with h11, compiled and pure."""

from __future__ import annotations

import random

import h11
import pytest

from httpkit import headbytes

_TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789-!#$%&'*+.^_`|~"
_VALUE = 'abcdefghijklmnopqrstuvwxyz ABC0123456789;=,/"()\t'


def _fields(rng: random.Random) -> list[tuple[bytes, bytes]]:
    return [
        (
            "".join(rng.choices(_TOKEN, k=rng.randint(1, 20))).encode(),
            # h11 strips the ends of a value; the head's are the caller's
            "".join(rng.choices(_VALUE, k=rng.randint(0, 60))).strip().encode(),
        )
        for _ in range(rng.randint(0, 30))
    ]


def test_a_request_head_is_what_h11_writes_for_it() -> None:
    rng = random.Random(11)
    for case in range(300):
        fields = _fields(rng)
        target = b"/" + "".join(rng.choices(_TOKEN, k=rng.randint(0, 40))).encode()
        method = rng.choice([b"GET", b"POST", b"PROPFIND"])
        fields.insert(0, (b"host", b"h"))  # h11 wants one, and writes it first
        written = h11.Connection(h11.CLIENT).send(
            h11.Request(method=method, target=target, headers=fields)
        )
        ours = headbytes.head(method + b" ", target, b" HTTP/1.1\r\n", fields, b"", b"\r\n")
        assert ours == written, case


def test_an_answer_head_is_what_h11_writes_for_it() -> None:
    rng = random.Random(12)
    for case in range(300):
        fields = _fields(rng)
        status = rng.choice([200, 201, 404, 599])
        connection = h11.Connection(h11.SERVER)
        connection.receive_data(b"GET / HTTP/1.1\r\nhost: h\r\n\r\n")
        connection.next_event()
        framing = [(b"content-length", b"0")]
        written = connection.send(
            h11.Response(status_code=status, headers=[*fields, *framing], reason=b"R")
        )
        ours = headbytes.head(
            b"HTTP/1.1 %d R\r\n" % status, b"", b"", fields, b"content-length: 0\r\n", b"\r\n"
        )
        assert ours == written, case


def test_a_field_that_is_not_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        headbytes.head(b"GET / HTTP/1.1\r\n", b"", b"", [(b"host", "h")], b"", b"\r\n")  # type: ignore[list-item]
