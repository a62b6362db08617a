"""`- redis: {...}` triggers in gaia.yaml: the shared config contract, and validation into
RedisTriggerConfig case by case."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from tests.triggers.config_contract import TriggerConfigContract
from tests.triggers.config_kit import issues_of, one_config, triggers_of
from triggers.redis.config import RedisTriggerConfig
from triggers.retrying import BackoffConfig

MINIMAL: dict[str, object] = {"url": "redis://127.0.0.1:6379/0", "stream": "orders"}
PREFIX = "functions.hello.triggers[0].redis"


class TestRedisConfig(TriggerConfigContract):
    kind = "redis"
    minimal: ClassVar[Mapping[str, object]] = MINIMAL
    full: ClassVar[Mapping[str, object]] = {
        "url": "rediss://cache.internal:6380/3",
        "stream": "{shop}:orders/eu",
        "group": "billing",
        "consumer": "worker-1@eu",
        "start": "earliest",
        "ordering": "none",
        "max_in_flight": 8,
        "retries": 0,
        "backoff": {"initial": "250ms", "max": "2m"},
        "dead_letter": "orders:dlq",
        "reply_stream": "orders:done",
        "claim_idle": "1h",
    }

    def apart(self, n: int) -> dict[str, object]:
        return {**MINIMAL, "group": f"group-{n}"}


def redis(base: Path, **keys: object) -> RedisTriggerConfig:
    """The model of one trigger `- redis: {url: ..., stream: orders, **keys}`."""
    return one_config(base, "redis", RedisTriggerConfig, {**MINIMAL, **keys})


def issues(base: Path, *triggers: dict[str, object]) -> list[str]:
    return issues_of(base, "redis", *triggers)


def test_defaults(base: Path) -> None:
    config = redis(base)
    assert config.group_for("billing") == "gaia-billing"
    assert config.consumer_for("host-a:8081") == "host-a:8081"
    assert (config.start, config.start_id) == ("latest", "$")
    assert config.ordering == "stream"
    assert config.max_in_flight == 64
    assert (config.retries, config.max_attempts) == (2, 3)
    assert config.backoff == BackoffConfig(initial_s=0.1, max_s=30.0)
    assert config.claim_idle_s == 30.0
    assert config.dead_letter is None and config.reply_stream is None


def test_every_key_set(base: Path) -> None:
    config = redis(base, **TestRedisConfig.full)
    assert config.group_for("billing") == "billing"
    assert config.consumer_for("host-a:8081") == "worker-1@eu"
    assert config.start_id == "0" and config.max_attempts == 1
    assert config.backoff == BackoffConfig(initial_s=0.25, max_s=120.0)
    assert config.claim_idle_s == 3600.0


def test_the_stored_form_reads_back_the_same(base: Path) -> None:
    config = redis(base, group="g", backoff={"initial": "100ms", "max": "1s"}, dead_letter="dlq")
    stored = config.to_dict()
    assert stored["backoff"] == {"initial": 0.1, "max": 1.0}
    assert "reply_stream" not in stored and "consumer" not in stored
    assert RedisTriggerConfig.from_dict(stored) == config


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("100ms", 0.1), ("0.1s", 0.1), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), (5, 5.0)],
)
def test_claim_idle_takes_durations(base: Path, written: object, seconds: float) -> None:
    assert redis(base, claim_idle=written).claim_idle_s == seconds


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"url": "http://127.0.0.1:6379"}, "url: expected a Redis URL"),
        ({"url": "redis://user:secret@h:6379/0"}, "url: expected a Redis URL"),
        ({"url": "redis://127.0.0.1"}, "url: expected a Redis URL"),
        ({"url": "redis://127.0.0.1:70000/0"}, "port 1 to 65535"),
        ({"stream": ""}, "stream: expected a stream name of 1 to 256"),
        ({"stream": "has space"}, "stream: expected a stream name"),
        ({"stream": "x" * 257}, "stream: expected a stream name"),
        ({"group": "a b"}, "group: expected a consumer group name of 1 to 128"),
        ({"consumer": "c" * 129}, "consumer: expected a consumer name of 1 to 128"),
        ({"start": "middle"}, "start: expected latest or earliest, got 'middle'"),
        ({"ordering": "key"}, "ordering: expected stream or none, got 'key'"),
        ({"max_in_flight": 0}, "max_in_flight: expected a whole number from 1 to 10000, got 0"),
        ({"max_in_flight": 10_001}, "max_in_flight: expected a whole number from 1 to 10000"),
        ({"max_in_flight": "8"}, "max_in_flight: expected a whole number"),
        ({"dead_letter": "orders"}, "dead_letter: 'orders' is the stream the trigger reads"),
        ({"reply_stream": "orders"}, "reply_stream: 'orders' is the stream the trigger reads"),
        ({"dead_letter": "a b"}, "dead_letter: expected a stream name"),
        ({"claim_idle": "0ms"}, "claim_idle: expected a duration longer than 0s, at most 24h"),
        ({"claim_idle": "25h"}, "claim_idle: expected a duration longer than 0s, at most 24h"),
        ({"claim_idle": True}, "claim_idle: expected a duration"),
        ({"topic": "orders"}, "topic: unknown key"),
    ],
)
def test_a_bad_value_is_reported_under_its_key(
    base: Path, keys: dict[str, object], expected: str
) -> None:
    [issue] = issues(base, {**MINIMAL, **keys})
    assert issue.startswith(PREFIX + ".") and expected in issue, issue


def test_every_bad_key_is_reported_at_once(base: Path) -> None:
    found = issues(base, {**MINIMAL, "retries": -1, "ordering": "key", "claim_idle": "x"})
    assert sorted(issue.split(":")[0] for issue in found) == [
        f"{PREFIX}.{key}" for key in ("claim_idle", "ordering", "retries")
    ]


def test_two_triggers_in_one_group_of_one_stream_are_refused(base: Path) -> None:
    [issue] = issues(base, dict(MINIMAL), {**MINIMAL, "group": "gaia-hello"})
    assert issue.startswith("functions.hello.triggers[1].redis.group: consumer group 'gaia-hello'")
    assert "also the group of functions.hello.triggers[0]" in issue


def test_the_same_group_on_another_stream_or_server_is_fine(base: Path) -> None:
    for second in ({**MINIMAL, "stream": "refunds"}, {**MINIMAL, "url": "redis://h:6380/0"}):
        assert len(triggers_of(base, "redis", dict(MINIMAL), second)) == 2
