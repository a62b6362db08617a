"""RedisTriggerConfig: every key's default, what it accepts, and that a bad value is
reported under its own key with what is expected."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from triggers.redis.config import RedisTriggerConfig

BASE: dict[str, Any] = {"url": "redis://127.0.0.1:6379/0", "stream": "orders"}


def build(**keys: Any) -> RedisTriggerConfig:
    return RedisTriggerConfig.model_validate({**BASE, **keys})


def problems(**keys: Any) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        build(**keys)
    return {tuple(error["loc"]): error["msg"] for error in caught.value.errors()}


def test_defaults() -> None:
    config = build()
    assert config.group_for("billing") == "gaia-billing"
    assert config.consumer_for("host-a:8081") == "host-a:8081"
    assert (config.start, config.start_id) == ("latest", "$")
    assert config.ordering == "stream"
    assert config.max_in_flight == 64
    assert (config.retries, config.max_attempts) == (2, 3)
    assert (config.backoff.initial, config.backoff.max) == (0.1, 30.0)
    assert config.claim_idle == 30.0
    assert config.dead_letter is None and config.reply_stream is None


def test_every_key_set() -> None:
    config = build(
        url="rediss://cache.internal:6380/3",
        stream="{shop}:orders/eu",
        group="billing",
        consumer="worker-1@eu",
        start="earliest",
        ordering="none",
        max_in_flight=8,
        retries=0,
        backoff={"initial": "250ms", "max": "2m"},
        dead_letter="orders:dlq",
        reply_stream="orders:done",
        claim_idle="1h",
    )
    assert config.group_for("billing") == "billing"
    assert config.consumer_for("host-a:8081") == "worker-1@eu"
    assert config.start_id == "0" and config.max_attempts == 1
    assert (config.backoff.initial, config.backoff.max) == (0.25, 120.0)
    assert config.claim_idle == 3600.0


def test_the_stored_form_reads_back_the_same() -> None:
    config = build(group="g", backoff={"initial": "100ms", "max": "1s"}, dead_letter="dlq")
    stored = config.to_dict()
    assert stored["backoff"] == {"initial": 0.1, "max": 1.0}
    assert "reply_stream" not in stored and "consumer" not in stored
    assert RedisTriggerConfig.from_dict(stored) == config


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("100ms", 0.1),
        ("0.1s", 0.1),
        ("30s", 30.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        (5, 5.0),
        (0.5, 0.5),
    ],
)
def test_durations(written: object, seconds: float) -> None:
    assert build(claim_idle=written).claim_idle == seconds


def test_a_duration_written_two_ways_stores_the_same() -> None:
    assert build(claim_idle="100ms").to_dict() == build(claim_idle="0.1s").to_dict()


@pytest.mark.parametrize(
    ("keys", "where", "expected"),
    [
        ({"url": "http://127.0.0.1:6379"}, ("url",), "expected a Redis URL"),
        ({"url": "redis://user:secret@h:6379/0"}, ("url",), "no credentials"),
        ({"url": "redis://127.0.0.1"}, ("url",), "redis://host:port"),
        ({"url": "redis://127.0.0.1:70000/0"}, ("url",), "port 1 to 65535"),
        ({"stream": ""}, ("stream",), "stream name of 1 to 256"),
        ({"stream": "has space"}, ("stream",), "stream name"),
        ({"stream": "x" * 257}, ("stream",), "stream name"),
        ({"group": "a b"}, ("group",), "name of 1 to 128"),
        ({"consumer": "c" * 129}, ("consumer",), "name of 1 to 128"),
        ({"start": "middle"}, ("start",), "'latest' or 'earliest'"),
        ({"ordering": "key"}, ("ordering",), "'stream' or 'none'"),
        ({"max_in_flight": 0}, ("max_in_flight",), "greater than or equal to 1"),
        ({"max_in_flight": 10_001}, ("max_in_flight",), "less than or equal to 10000"),
        ({"max_in_flight": "8"}, ("max_in_flight",), "valid integer"),
        ({"max_in_flight": True}, ("max_in_flight",), "valid integer"),
        ({"retries": -1}, ("retries",), "greater than or equal to 0"),
        ({"retries": 101}, ("retries",), "less than or equal to 100"),
        ({"backoff": {"initial": "0s"}}, ("backoff", "initial"), "greater than 0"),
        ({"backoff": {"max": "soon"}}, ("backoff", "max"), "expected a duration like 100ms"),
        ({"backoff": {"initial": "2s", "max": "1s"}}, ("backoff", "max"), "initial at most max"),
        ({"backoff": {"min": "1s"}}, ("backoff", "min"), "Extra inputs are not permitted"),
        ({"dead_letter": "orders"}, ("dead_letter",), "is the stream the trigger reads"),
        ({"reply_stream": "orders"}, ("reply_stream",), "is the stream the trigger reads"),
        ({"dead_letter": "a b"}, ("dead_letter",), "stream name"),
        ({"claim_idle": "0ms"}, ("claim_idle",), "greater than 0"),
        ({"claim_idle": "2d"}, ("claim_idle",), "expected a duration like 100ms"),
        ({"claim_idle": "-1s"}, ("claim_idle",), "expected a duration like 100ms"),
        ({"claim_idle": True}, ("claim_idle",), "expected a duration like 100ms"),
        ({"claim_idle": "25h"}, ("claim_idle",), "less than or equal to 86400"),
        ({"topic": "orders"}, ("topic",), "Extra inputs are not permitted"),
    ],
)
def test_a_bad_value_is_reported_under_its_key(
    keys: dict[str, Any], where: tuple[str, ...], expected: str
) -> None:
    found = problems(**keys)
    assert list(found) == [where]
    assert expected in found[where]


@pytest.mark.parametrize("missing", ["url", "stream"])
def test_url_and_stream_are_required(missing: str) -> None:
    keys = {key: value for key, value in BASE.items() if key != missing}
    with pytest.raises(ValidationError) as caught:
        RedisTriggerConfig.model_validate(keys)
    assert [tuple(error["loc"]) for error in caught.value.errors()] == [(missing,)]


def test_every_bad_key_is_reported_at_once() -> None:
    found = problems(retries=-1, ordering="key", claim_idle="x")
    assert set(found) == {("retries",), ("ordering",), ("claim_idle",)}


def test_the_config_is_frozen() -> None:
    config = build()
    with pytest.raises(ValidationError):
        config.retries = 5
