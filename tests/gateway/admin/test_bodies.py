"""Admin request bodies: UTF-8 JSON, bounded depth, and every failure an InvalidInput."""

from __future__ import annotations

import json

import pytest

from gateway.admin.bodies import MAX_DEPTH, parse_json
from gateway.errors import InvalidInput


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_up_to_the_depth_limit_parses() -> None:
    assert parse_json('{"name": "é"}'.encode()) == {"name": "é"}
    assert parse_json(_nested(MAX_DEPTH)) == json.loads(_nested(MAX_DEPTH))
    assert parse_json(b'{"a": ' * (MAX_DEPTH - 1) + b"{}" + b"}" * (MAX_DEPTH - 1))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_nested(MAX_DEPTH + 1), "more than 100 levels deep"),
        (_nested(1000), "more than 100 levels deep"),
        (_nested(100_000), "more than 100 levels deep"),  # past the interpreter's recursion
        (b'{"a": ' * 1000 + b"1" + b"}" * 1000, "more than 100 levels deep"),
        (b"\xff", "not UTF-8: byte 0xff at offset 0"),
        (b'{"a": "\xc3"}', "not UTF-8: byte 0xc3 at offset 7"),
        ('{"a": 1}'.encode("utf-16"), "not UTF-8"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b"[Infinity]", "Infinity is not a JSON number"),
        (b"1" * 5000, "not valid JSON"),  # more digits than int() converts
        (b"{nope", "not valid JSON"),
        (b"", "request body is empty"),
    ],
)
def test_bad_bodies_are_invalid_input_naming_body(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_json(raw)
    assert caught.value.field == "body"
    assert message in caught.value.message
