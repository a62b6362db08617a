"""The `event` a handler gets: repeated Cookie headers and query keys against independent
parsers (starlette's and the standard library's), with generated inputs; a queue
event's mapping is its CloudEvent, the message's headers, key and offset properties."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import cookie_parser

from runtime_adapters.python.events import CloudEvent, HttpRequestEvent, make_event
from runtime_adapters.python.protocol import HttpEvent
from runtime_adapters.queue_events import BATCH, MESSAGE

_TOKEN = "abcxyzABCXYZ0189!#$&'*+-.^_`|~"
_COOKIE_OCTETS = "abcxyzABCXYZ0189!#$%&'()*+-./:<=>?@[]^_`{|}~"
cookie_names = st.text(alphabet=_TOKEN, min_size=1, max_size=8)
cookie_values = st.text(alphabet=_COOKIE_OCTETS, max_size=8)


def request(headers: list[tuple[bytes, bytes]], query: str = "") -> HttpRequestEvent:
    event = make_event(HttpEvent("GET", "/", query.encode(), headers, {}, b""))
    assert isinstance(event, HttpRequestEvent)
    return event


@given(
    cookies=st.lists(
        st.lists(st.tuples(cookie_names, cookie_values), min_size=1, max_size=3),
        min_size=2,
        max_size=4,
    )
)
def test_repeated_cookie_headers_parse_as_the_cookies_of_each(
    cookies: list[list[tuple[str, str]]],
) -> None:
    lines = ["; ".join(f"{name}={value}" for name, value in pairs) for pairs in cookies]
    event = request([(b"Cookie", line.encode()) for line in lines])
    merged: dict[str, str] = {}
    for line in lines:
        merged.update(cookie_parser(line))
    assert cookie_parser(event.headers["cookie"]) == merged
    assert event.headers["cookie"] == "; ".join(lines)


def test_a_joined_cookie_string_reads_with_the_standard_library_too() -> None:
    event = request([(b"cookie", b"session=abc; theme=dark"), (b"cookie", b"lang=en")])
    jar = SimpleCookie(event.headers["Cookie"])
    assert {name: m.value for name, m in jar.items()} == {
        "session": "abc",
        "theme": "dark",
        "lang": "en",
    }


@given(values=st.lists(st.text(alphabet=_COOKIE_OCTETS, min_size=1), min_size=2, max_size=4))
def test_other_repeated_headers_join_with_a_comma(values: list[str]) -> None:
    event = request([(b"X-Thing", value.encode()) for value in values])
    assert event.headers["x-thing"] == ", ".join(values)


@given(
    pairs=st.lists(
        st.tuples(st.sampled_from(["a", "b", "é", "a b"]), st.text(max_size=6)), max_size=8
    )
)
def test_query_gives_the_first_value_and_query_all_every_value_in_order(
    pairs: list[tuple[str, str]],
) -> None:
    query = urlencode(pairs)
    event = request([], query)
    expected: dict[str, list[str]] = {}
    for key, value in pairs:
        expected.setdefault(key, []).append(value)
    assert event.query_all == expected
    assert event.query_all == parse_qs(query, keep_blank_values=True)
    assert event.query == {key: values[0] for key, values in expected.items()}


def test_a_queue_event_is_its_cloudevent_and_the_message_is_read_as_properties() -> None:
    event = make_event(
        {
            "specversion": "1.0",
            "id": "t/0/7",
            "data": b"\x00",
            MESSAGE: {"offset": 2**40, "key": b"\xff", "headers": {"h": b"\xfe"}},
        }
    )
    assert isinstance(event, CloudEvent)
    assert dict(event) == {"specversion": "1.0", "id": "t/0/7", "data": b"\x00"}
    assert (event.offset, event.key, dict(event.headers)) == (2**40, b"\xff", {"h": b"\xfe"})
    assert event.id == "t/0/7"
    with pytest.raises(KeyError, match=r"not a CloudEvents attribute: read event\.headers"):
        _ = event["headers"]
    with pytest.raises(KeyError):
        _ = event["missing"]
    with pytest.raises(AttributeError):
        _ = event.missing
    assert event.get("offset") is None and "offset" not in event


def test_an_event_without_a_message_has_no_headers() -> None:
    event = make_event({"specversion": "1.0", "id": "run-1", "data": None})
    assert isinstance(event, CloudEvent)
    assert dict(event.headers) == {}
    with pytest.raises(AttributeError):
        _ = event.key


def test_a_batch_hands_its_items_over_as_events_too() -> None:
    item = {"id": "t/0/1", "data": b"x", MESSAGE: {"offset": 1, "key": None}}
    batch = make_event({"id": "t/0/1-1", "data": [item], MESSAGE: {BATCH: True}})
    assert isinstance(batch, CloudEvent)
    [only] = batch["data"]
    assert isinstance(only, CloudEvent) and dict(only) == {"id": "t/0/1", "data": b"x"}
    assert only.offset == 1 and only.key is None
