"""How a Redis Streams trigger is named and shown in plans and in `gaia triggers`: the
kind's identity, source column, stuck-entry table, and its state as the CLI reads it
back from the admin API's JSON."""

from __future__ import annotations

import json

from tests.triggers.test_state import REDIS
from triggers.redis import KIND, stuck_table
from triggers.redis.config import RedisTriggerConfig
from triggers.redis.state import RedisState

URL = "redis://127.0.0.1:6379/0"


def test_two_triggers_differ_by_server_stream_and_group() -> None:
    plain = RedisTriggerConfig(url=URL, stream="orders")
    named = RedisTriggerConfig(url=URL, stream="orders", group="billing")
    assert KIND.identity("fn", plain) == f"redis {URL} orders group gaia-fn"
    assert KIND.identity("fn", named) == f"redis {URL} orders group billing"
    assert KIND.identity("fn", plain) != KIND.identity("other", plain)


def test_a_group_is_claimed_per_server_and_stream() -> None:
    [plain] = KIND.claims("fn", RedisTriggerConfig(url=URL, stream="orders"))
    [named] = KIND.claims("fn", RedisTriggerConfig(url=URL, stream="orders", group="gaia-fn"))
    assert plain.key == named.key == ("redis group", URL, "orders", "gaia-fn")
    assert (plain.at, named.at) == ("", "group")
    elsewhere = RedisTriggerConfig(url="redis://127.0.0.1:6380/0", stream="orders")
    assert KIND.claims("fn", elsewhere)[0].key != plain.key, "another server is another group"


def test_the_source_column() -> None:
    assert KIND.source({"stream": "orders"}) == "orders"
    assert KIND.source({"stream": "orders", "group": "billing"}) == "orders (group billing)"


def test_the_state_shows_stuck_entries_as_json_and_their_number() -> None:
    shown = json.loads(json.dumps(REDIS.to_dict()))  # read back: tests/triggers/test_state.py
    assert shown["stuck"] == 1, "a number, as every kind's state gives it"
    assert shown["stuck_entries"] == [
        {"entry": "5-0", "error": "WRONGTYPE", "since": 100.0, "retry_at": 130.0}
    ]
    assert KIND.state is RedisState


def test_stuck_entries_get_a_row_each() -> None:
    headers, rows = stuck_table(REDIS, now=110.0)
    assert headers == ["entry", "stuck for", "next try in", "error"]
    assert rows == [["5-0", "10s", "20s", "WRONGTYPE"]]
    empty = RedisState(status="running", stream="s", group="g", consumer="c", ordering="none")
    assert stuck_table(empty) == (headers, [])
