"""Redis Stream entries as CloudEvents, checked on generated entries against the
official CloudEvents SDK (attribute types, extension names, time) and an RFC 3986
validator (the source is a URI), with Python's json module as the oracle for `data`."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
import rfc3987

from tests.triggers.cloudevents_oracle import FORMAT, check_attributes
from triggers.redis.events import entry_event, stream_source

_STREAM_CHARS = "abcxyzABC0123456789._-:/{}"
_PARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _stream(rng: random.Random) -> str:
    return "".join(rng.choice(_STREAM_CHARS) for _ in range(rng.randint(1, 24)))


def _json_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(6 if depth < 2 else 4)
    if kind == 0:
        return rng.randint(-(10**6), 10**6)
    if kind == 1:
        return "".join(rng.choice('aé z"\\{') for _ in range(rng.randint(0, 8)))
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.uniform(-1e3, 1e3)
    if kind == 4:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{n}": _json_value(rng, depth + 1) for n in range(rng.randint(0, 3))}


def _value(rng: random.Random) -> bytes:
    kind = rng.randrange(3)
    if kind == 0:
        return json.dumps(_json_value(rng)).encode()
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
    return "".join(rng.choice("plain text ü") for _ in range(rng.randint(1, 12))).encode()


def _fields(rng: random.Random) -> dict[bytes, bytes]:
    shape = rng.randrange(4)
    if shape == 0:
        return {b"data": _value(rng)}
    if shape == 1:
        return {b"data": _value(rng), b"traceparent": _PARENT}
    names = [b"data", b"sku", b"qty", b"traceparent", b"\xffodd"]
    return {name: _value(rng) for name in rng.sample(names, rng.randint(1, len(names)))}


def _expected_data(fields: dict[bytes, bytes]) -> tuple[object, str | None]:
    """The `data` and `datacontenttype` the module docstring promises, by the oracle."""
    if b"data" in fields and set(fields) <= {b"data", b"traceparent"}:
        value = fields[b"data"]
        try:
            return json.loads(value), "application/json"
        except ValueError:
            return value, "application/octet-stream"
    data: dict[str, object] = {}
    for name, value in fields.items():
        try:
            data[name.decode(errors="backslashreplace")] = value.decode()
        except UnicodeDecodeError:
            data[name.decode(errors="backslashreplace")] = value
    all_text = all(isinstance(value, str) for value in data.values())
    return data, "application/json" if all_text else None


def _expected_traceparent(fields: dict[bytes, bytes]) -> str | None:
    """The field's text, as the trace header is passed on by the other kinds."""
    try:
        return fields.get(b"traceparent", b"").decode() or None
    except UnicodeDecodeError:
        return None


@pytest.mark.parametrize("seed", range(400))
def test_a_generated_entry_makes_a_valid_cloudevent(seed: int) -> None:
    rng = random.Random(seed)
    stream = _stream(rng)
    millis = rng.randint(0, 4_102_444_800_000)  # up to 2100
    entry_id = f"{millis}-{rng.randint(0, 99)}"
    fields = _fields(rng)
    url = rng.choice(["redis://127.0.0.1:6379", "redis://cache:6380/2", "rediss://[::1]:7000/15"])
    source = stream_source(url, stream)

    event = entry_event(stream=stream, entry_id=entry_id, fields=fields, source=source)

    check_attributes(event)  # the spec's rules for names and values
    attributes = {name: value for name, value in event.items() if name != "data"}
    parsed = FORMAT.read(None, json.dumps(attributes))  # a map of bytes is no JSON data
    assert parsed.get_id() == f"{stream}/{entry_id}"
    assert parsed.get_source() == source
    assert rfc3987.match(source, rule="URI"), source
    assert parsed.get_type() == "dev.gaia.redis.message"
    assert parsed.get_subject() == entry_id
    assert parsed.get_time() == datetime.fromtimestamp(millis / 1000, UTC)
    assert parsed.get_extension("stream") == stream
    assert parsed.get_extension("traceparent") == _expected_traceparent(fields)
    data, content_type = _expected_data(fields)
    assert event["data"] == data
    assert event.get("datacontenttype") == content_type


def test_the_source_names_port_and_database_however_the_url_was_written() -> None:
    assert stream_source("redis://h:6379", "s") == "redis://h:6379/0/s"
    assert stream_source("redis://h:6379/", "s") == "redis://h:6379/0/s"
    assert stream_source("rediss://h:6380/4", "{a}:b/c") == "rediss://h:6380/4/%7Ba%7D:b%2Fc"
