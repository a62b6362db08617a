"""How a Redis Streams trigger is named and shown in plans and in `gaia triggers`."""

from __future__ import annotations

from triggers.redis.config import RedisTriggerConfig
from triggers.redis.describe import group_claim, identity, source, stuck_table
from triggers.redis.state import RedisTriggerState, StuckEntry

URL = "redis://127.0.0.1:6379/0"


def test_two_triggers_differ_by_server_stream_and_group() -> None:
    plain = RedisTriggerConfig(url=URL, stream="orders")
    named = RedisTriggerConfig(url=URL, stream="orders", group="billing")
    assert identity("fn", plain) == f"redis {URL} orders group gaia-fn"
    assert identity("fn", named) == f"redis {URL} orders group billing"
    assert identity("fn", plain) != identity("other", plain)


def test_a_shared_group_is_claimed_and_blamed_where_it_is_written() -> None:
    plain = RedisTriggerConfig(url=URL, stream="orders")
    named = RedisTriggerConfig(url=URL, stream="orders", group="gaia-fn")
    key, at, clash = group_claim("fn", plain)
    same_key, named_at, _ = group_claim("fn", named)
    assert key == same_key == ("redis group", URL, "orders", "gaia-fn")
    assert (at, named_at) == ("", "group")
    assert "also the group of functions.fn.triggers[0]" in clash("functions.fn.triggers[0]")
    elsewhere = RedisTriggerConfig(url="redis://127.0.0.1:6380/0", stream="orders")
    assert group_claim("fn", elsewhere)[0] != key, "another server is another group"


def test_the_source_column() -> None:
    assert source({"stream": "orders"}) == "orders"
    assert source({"stream": "orders", "group": "billing"}) == "orders (group billing)"


def test_stuck_entries_get_a_row_each() -> None:
    state = RedisTriggerState(
        status="running",
        error=None,
        stream="orders",
        group="gaia-fn",
        consumer="r1",
        ordering="stream",
        pending=1,
        lag=0,
        in_flight=1,
        processed=0,
        retried=4,
        dead_lettered=0,
        claimed=0,
        stuck_entries=(StuckEntry(entry="5-0", error="WRONGTYPE", since=100.0, retry_at=130.0),),
    )
    shown = state.to_dict()
    assert shown["stuck"] == 1, "a number, as every kind's state gives it"
    headers, rows = stuck_table(shown, now=110.0)
    assert headers == ["entry", "stuck for", "next try in", "error"]
    assert rows == [["5-0", "10s", "20s", "WRONGTYPE"]]
    assert stuck_table({"stuck": 0, "stuck_entries": []}) == (headers, [])
