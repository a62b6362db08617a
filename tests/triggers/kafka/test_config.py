"""`- kafka: {...}` triggers in gaia.yaml: the shared config contract, and validation into
KafkaTriggerConfig case by case (what applying them stores:
tests/gateway/test_trigger_records.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from gateway.config import (
    ConfigError,
    Trigger,
)
from routing.names import Target
from tests.triggers.config_contract import TriggerConfigContract
from tests.triggers.config_kit import (
    WITH_PROD,
    config_of,
    issues_of,
    one_config,
    parse,
    triggers_of,
)
from triggers.cron.config import CronTriggerConfig
from triggers.kafka.config import Batching, KafkaTriggerConfig
from triggers.retrying import BackoffConfig

FULL = (
    WITH_PROD
    + """\
      - kafka:
          brokers: [127.0.0.1:9092, "kafka-2.internal:19092"]
          topics: [orders, refunds.v2]
          group: billing
          start: earliest
          ordering: key
          max_in_flight: 16
          batch: {size: 100, window: 250ms}
          retries: 5
          backoff: {initial: 200ms, max: 1m}
          dead_letter: orders.dlq
          response_topic: orders.results
          session_timeout: 45s
          alias: prod
"""
)


MINIMAL = {"brokers": "a:9092", "topic": "orders"}


class TestKafkaConfig(TriggerConfigContract):
    kind = "kafka"
    minimal: ClassVar[Mapping[str, object]] = MINIMAL
    full: ClassVar[Mapping[str, object]] = {
        "brokers": ["a:9092", "b:9093"],
        "topics": ["orders", "refunds"],
        "group": "billing",
        "start": "earliest",
        "ordering": "key",
        "max_in_flight": 16,
        "batch": {"size": 100, "window": "250ms"},
        "retries": 5,
        "backoff": {"initial": "200ms", "max": "1m"},
        "dead_letter": "orders.dlq",
        "response_topic": "orders.done",
        "session_timeout": "45s",
    }
    instead = ("topic",)
    derived = ("topics",)

    def apart(self, n: int) -> dict[str, object]:
        return {**MINIMAL, "group": f"group-{n}"}


def kafka_triggers(base: Path, *triggers: dict[str, object], **keys: object) -> list[Trigger]:
    return triggers_of(base, "kafka", *triggers, **keys)


def kafka(base: Path, **keys: object) -> KafkaTriggerConfig:
    """The model of one trigger `- kafka: {brokers: a:9092, topic: orders, **keys}`."""
    return one_config(
        base, "kafka", KafkaTriggerConfig, {"brokers": "a:9092", "topic": "orders", **keys}
    )


def issues(base: Path, *triggers: dict[str, object]) -> list[str]:
    return issues_of(base, "kafka", *triggers)


# --- valid triggers -------------------------------------------------------------------


def test_a_full_trigger_round_trips_through_the_stored_shape(base: Path) -> None:
    [trigger] = parse(base, FULL).functions["hello"].triggers

    assert trigger == Trigger(
        kind="kafka",
        target=Target(function="hello", alias="prod"),
        config=KafkaTriggerConfig(
            brokers=("127.0.0.1:9092", "kafka-2.internal:19092"),
            topics=("orders", "refunds.v2"),
            group="billing",
            start="earliest",
            ordering="key",
            max_in_flight=16,
            batch=Batching(size=100, window_s=0.25),
            retries=5,
            backoff=BackoffConfig(initial_s=0.2, max_s=60.0),
            dead_letter="orders.dlq",
            response_topic="orders.results",
            session_timeout_s=45.0,
        ),
    )
    assert KafkaTriggerConfig.from_dict(trigger.config.to_dict()) == trigger.config


def test_defaults(base: Path) -> None:
    [trigger] = kafka_triggers(base, {"brokers": "127.0.0.1:9092", "topic": "orders"})
    assert trigger.target == Target(function="hello", alias="default")
    assert trigger.config == KafkaTriggerConfig(brokers=("127.0.0.1:9092",), topics=("orders",))
    config = trigger.config
    assert (config.group, config.start, config.ordering) == (None, "latest", "partition")
    assert (config.max_in_flight, config.batch, config.retries) == (64, None, 2)
    assert (config.backoff.initial_s, config.backoff.max_s) == (0.1, 30.0)
    assert (config.dead_letter, config.response_topic) == (None, None)
    assert config.session_timeout_s == 10.0
    assert config.group_for("hello") == "gaia-hello-orders"
    assert KafkaTriggerConfig.from_dict(config.to_dict()) == config


def test_partial_mappings_take_the_other_defaults(base: Path) -> None:
    config = kafka(base, batch={"size": 10}, backoff={"max": "5s"})
    assert config.batch == Batching(size=10, window_s=0.05)
    assert (config.backoff.initial_s, config.backoff.max_s) == (0.1, 5.0)
    assert kafka(base, backoff={"initial": "2s"}).backoff.max_s == 30.0
    assert kafka(base, batch=None).batch is None


@pytest.mark.parametrize(
    ("brokers", "expected"),
    [
        ("localhost:9092", ("localhost:9092",)),
        ("a:9092, b:9093,c:1", ("a:9092", "b:9093", "c:1")),
        (["a:9092", "b:65535"], ("a:9092", "b:65535")),
        ("[::1]:9092", ("[::1]:9092",)),
        ("a:9092,a:9092", ("a:9092",)),
    ],
)
def test_brokers_forms(base: Path, brokers: object, expected: tuple[str, ...]) -> None:
    assert kafka(base, brokers=brokers).brokers == expected


def test_durations_take_units_or_seconds(base: Path) -> None:
    config = kafka(base, session_timeout=60, backoff={"initial": 0.5, "max": "1m30s"})
    assert config.session_timeout_s == 60.0
    assert (config.backoff.initial_s, config.backoff.max_s) == (0.5, 90.0)
    assert kafka(base, session_timeout="1h").session_timeout_s == 3600.0
    assert kafka(base, batch={"size": 1, "window": "1m"}).batch == Batching(size=1, window_s=60.0)


def test_http_and_kafka_triggers_mix(base: Path) -> None:
    text = """\
    functions:
      hello:
        code: functions/hello
        triggers:
          - http: {path: /hello}
          - kafka: {brokers: 127.0.0.1:9092, topic: orders}
    """
    http, queue = parse(base, text).functions["hello"].triggers
    assert http.kind == "http"
    assert queue.kind == "kafka"


def test_distinct_groups_of_one_function_are_fine(base: Path) -> None:
    triggers = kafka_triggers(
        base,
        {"brokers": "a:1", "topic": "orders"},
        {"brokers": "a:1", "topics": ["orders", "refunds"]},
        {"brokers": "b:1", "topic": "orders", "group": "audit"},
    )
    assert [config_of(t, KafkaTriggerConfig).group_for("hello") for t in triggers] == [
        "gaia-hello-orders",
        "gaia-hello-orders+refunds",
        "audit",
    ]


# --- mistakes -------------------------------------------------------------------------

OK = {"brokers": "a:9092", "topic": "orders"}
PORTS = "expected host:port like 127.0.0.1:9092 (port 1 to 65535), a comma-separated string"
TOPIC = "expected a topic name of 1 to 249 letters, digits, '.', '_' or '-'"


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ({"topic": "orders"}, f"brokers: {PORTS} of them or a list of them, got nothing"),
        (
            {"brokers": "localhost", "topic": "orders"},
            f"brokers: {PORTS} of them or a list of them, got 'localhost'",
        ),
        (
            {"brokers": "a:0", "topic": "orders"},
            f"brokers: {PORTS} of them or a list of them, got 'a:0'",
        ),
        ({"brokers": "a:65536", "topic": "orders"}, f"brokers: {PORTS}"),
        (
            {"brokers": "a:9092,", "topic": "orders"},
            f"brokers: {PORTS} of them or a list of them, got an empty entry",
        ),
        ({"brokers": "http://a:9092", "topic": "orders"}, f"brokers: {PORTS}"),
        ({"brokers": [], "topic": "orders"}, f"brokers: {PORTS}"),
        (
            {"brokers": ["a:9092", 9092], "topic": "orders"},
            f"brokers: {PORTS} of them or a list of them, got 9092",
        ),
        ({"brokers": 9092, "topic": "orders"}, f"brokers: {PORTS}"),
        ({"brokers": "a:1"}, f"topic: {TOPIC}, got nothing"),
        ({"brokers": "a:1", "topic": "a b"}, f"topic: {TOPIC}, got 'a b'"),
        ({"brokers": "a:1", "topic": "x" * 250}, f"topic: {TOPIC}, got 'xxx"),
        ({"brokers": "a:1", "topic": ".."}, f"topic: {TOPIC}, other than '.' or '..', got '..'"),
        ({"brokers": "a:1", "topic": 7}, f"topic: {TOPIC}, got 7"),
        (
            {"brokers": "a:1", "topic": "a", "topics": ["b"]},
            ": expected one of topic or topics, got topic and topics",
        ),
    ],
)
def test_bad_brokers_and_topics(base: Path, trigger: dict[str, object], expected: str) -> None:
    [issue] = issues(base, trigger)
    prefix = "functions.hello.triggers[0].kafka"
    assert issue.startswith(prefix + ("" if expected.startswith(":") else ".") + expected)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"topics": []}, "topics: expected a non-empty list of topic names, got a list"),
        ({"topics": "orders"}, "topics: expected a non-empty list of topic names, got 'orders'"),
        ({"topics": ["a", "b", "a"]}, "topics[2]: topic 'a' is listed twice"),
        ({"topics": ["a", "."]}, f"topics[1]: {TOPIC}, other than '.' or '..', got '.'"),
        ({"topics": ["a", None]}, f"topics[1]: {TOPIC}, got nothing"),
        ({"group": "a/b"}, "group: expected a consumer group name of 1 to 249 letters"),
        ({"group": ""}, "group: expected a consumer group name"),
        ({"start": "oldest"}, "start: expected earliest or latest, got 'oldest'"),
        ({"ordering": "global"}, "ordering: expected partition, key or none, got 'global'"),
        ({"ordering": None}, "ordering: expected partition, key or none, got nothing"),
        ({"max_in_flight": 0}, "max_in_flight: expected a whole number from 1 to 10000, got 0"),
        ({"max_in_flight": 10001}, "max_in_flight: expected a whole number from 1 to 10000"),
        ({"max_in_flight": 1.5}, "max_in_flight: expected a whole number from 1 to 10000"),
        ({"max_in_flight": "8"}, "max_in_flight: expected a whole number from 1 to 10000"),
        ({"batch": 10}, "batch: expected a mapping with size or window, got 10"),
        ({"batch": {}}, "batch.size: required: expected a whole number from 1 to 10000"),
        ({"batch": {"window": "1s"}}, "batch.size: required: expected a whole number"),
        ({"batch": {"size": 0}}, "batch.size: expected a whole number from 1 to 10000, got 0"),
        ({"batch": {"size": 10001}}, "batch.size: expected a whole number from 1 to 10000"),
        (
            {"batch": {"size": 10, "window": "0s"}},
            "batch.window: expected a duration longer than 0s, at most 1m, got '0s'",
        ),
        (
            {"batch": {"size": 10, "window": "61s"}},
            "batch.window: expected a duration longer than 0s, at most 1m, got '61s'",
        ),
        (
            {"batch": {"size": 10, "window": "soon"}},
            "batch.window: expected a duration like 500ms, 10s, 5m or 1h, got 'soon'",
        ),
        ({"batch": {"size": 10, "count": 2}}, "batch.count: unknown key 'count'"),
        ({"dead_letter": "a b"}, f"dead_letter: {TOPIC}, got 'a b'"),
        (
            {"dead_letter": "orders"},
            "dead_letter: topic 'orders' is consumed by this trigger, so it would feed the"
            " trigger its own output: expected a topic the trigger does not consume",
        ),
        ({"response_topic": ""}, f"response_topic: {TOPIC}, got ''"),
        (
            {"topics": ["a", "b"], "response_topic": "b"},
            "response_topic: topic 'b' is consumed by this trigger, so it would feed",
        ),
        (
            {"session_timeout": "500ms"},
            "session_timeout: expected a duration from 1s to 1h, got '500ms'",
        ),
        (
            {"session_timeout": "2h"},
            "session_timeout: expected a duration from 1s to 1h, got '2h'",
        ),
        ({"session_timeout": "x"}, "session_timeout: expected a duration like 500ms"),
        ({"topik": "x"}, "topik: unknown key 'topik': did you mean 'topic'?"),
        ({"partitions": 3}, "partitions: unknown key 'partitions': expected brokers, topic"),
    ],
)
def test_bad_keys(base: Path, keys: dict[str, object], expected: str) -> None:
    trigger = {**OK, **keys}
    if "topics" in keys:
        del trigger["topic"]
    [issue] = issues(base, trigger)
    prefix = "functions.hello.triggers[0].kafka"
    assert issue.startswith(prefix + ("" if expected.startswith(":") else ".") + expected)


def test_two_triggers_in_one_consumer_group(base: Path) -> None:
    # Reordered topics derive the same group, so they would split the messages.
    assert issues(
        base,
        {"brokers": "a:1", "topics": ["orders", "refunds"]},
        {"brokers": "b:1", "topics": ["refunds", "orders"], "alias": "prod"},
    ) == [
        "functions.hello.triggers[1].kafka: consumer group 'gaia-hello-orders+refunds' is also"
        " the group of functions.hello.triggers[0], and triggers sharing a group split its"
        " messages between them: expected a group: of its own for this trigger"
    ]
    [issue] = issues(
        base,
        {"brokers": "a:1", "topic": "a", "group": "shared"},
        {"brokers": "a:1", "topic": "b", "group": "shared"},
    )
    assert issue.startswith(
        "functions.hello.triggers[1].kafka.group: consumer group 'shared' is also the group of"
        " functions.hello.triggers[0]"
    )


def test_two_functions_in_one_consumer_group(base: Path) -> None:
    text = """
        functions:
          hello:
            code: functions/hello
            triggers: [{kafka: {brokers: "a:1", topic: orders, group: shared}}]
          other:
            code: functions/hello
            triggers: [{kafka: {brokers: "a:1", topic: orders, group: shared}}]
    """
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    [issue] = info.value.errors
    assert issue.path == "functions.other.triggers[0].kafka.group"
    assert "also the group of functions.hello.triggers[0]" in issue.message


def test_issues_carry_lines(base: Path) -> None:
    text = FULL.replace("retries: 5", "retries: many")
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    [issue] = info.value.errors
    assert (issue.path, issue.line) == ("functions.hello.triggers[0].kafka.retries", 18)
    assert "expected a whole number from 0 to 100, got 'many'" in issue.message


def test_cron_triggers_sit_beside_kafka_ones(base: Path) -> None:
    document = {
        "functions": {
            "hello": {
                "code": "functions/hello",
                "triggers": [
                    {"kafka": {"brokers": "a:9092", "topic": "orders"}},
                    {"cron": {"schedule": "* * * * *"}},
                ],
            }
        }
    }
    kafka, cron = parse(base, yaml.safe_dump(document)).functions["hello"].triggers
    assert kafka.kind == "kafka"
    assert cron.kind == "cron"
    assert cron.config == CronTriggerConfig(schedule="* * * * *")
