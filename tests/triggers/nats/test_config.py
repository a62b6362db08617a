"""`- nats: {...}` triggers in gaia.yaml: the shared config contract, and validation into
NatsTriggerConfig case by case (what applying them stores:
tests/gateway/test_trigger_records.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from gateway.config import (
    ConfigError,
    Trigger,
)
from routing.names import Target
from tests.triggers.config_contract import TriggerConfigContract
from tests.triggers.config_kit import (
    WITH_PROD,
    issues_of,
    one_config,
    parse,
    triggers_of,
)
from triggers.nats.config import JetStreamConfig, NatsTriggerConfig
from triggers.retrying import BackoffConfig

FULL = (
    WITH_PROD
    + """\
      - nats:
          servers:
            - nats://127.0.0.1:4222
            - tls://nats-2.internal:4443
            - nats-3:4222
          subject: orders.*.created
          jetstream:
            stream: ORDERS
            durable: billing
            ack_wait: 45s
            max_deliver: 5
            max_ack_pending: 128
          retries: 4
          backoff: {initial: 200ms, max: 1m}
          dead_letter: orders.dlq
          reply_subject: billing.results
          alias: prod
      - nats:
          servers: nats://127.0.0.1:4222
          subject: audit.>
          queue: auditors
          revision: 1
"""
)


# The keys every trigger needs, for tests that vary the others.
OK: dict[str, object] = {"servers": "a:4222", "subject": "orders.>"}


MINIMAL = {"servers": "a:4222", "subject": "orders.>"}


class TestNatsConfig(TriggerConfigContract):
    kind = "nats"
    minimal: ClassVar[Mapping[str, object]] = MINIMAL
    full: ClassVar[Mapping[str, object]] = {
        "servers": ["nats://a:4222", "tls://b:4222"],
        "subject": "orders.*",
        "jetstream": {
            "stream": "ORDERS",
            "durable": "billing",
            "ack_wait": "10s",
            "max_deliver": 5,
            "max_ack_pending": 8,
        },
        "retries": 4,
        "backoff": {"initial": "200ms", "max": "1m"},
        "dead_letter": "dead.orders",
        "reply_subject": "replies.orders",
    }
    instead = ("queue",)  # not with jetstream

    def apart(self, n: int) -> dict[str, object]:
        return {**MINIMAL, "queue": f"queue-{n}"}


def nats_triggers(base: Path, *triggers: dict[str, object], **keys: object) -> list[Trigger]:
    return triggers_of(base, "nats", *triggers, **keys)


def nats(base: Path, **keys: object) -> NatsTriggerConfig:
    """The model of one trigger `- nats: {servers: a:4222, subject: orders.>, **keys}`."""
    return one_config(base, "nats", NatsTriggerConfig, {**OK, **keys})


def issues(base: Path, *triggers: dict[str, object]) -> list[str]:
    return issues_of(base, "nats", *triggers)


# --- valid triggers -------------------------------------------------------------------


def test_a_full_trigger_round_trips_through_the_stored_shape(base: Path) -> None:
    stream, queue = parse(base, FULL).functions["hello"].triggers

    assert stream == Trigger(
        kind="nats",
        target=Target(function="hello", alias="prod"),
        config=NatsTriggerConfig(
            servers=("nats://127.0.0.1:4222", "tls://nats-2.internal:4443", "nats://nats-3:4222"),
            subject="orders.*.created",
            jetstream=JetStreamConfig(
                stream="ORDERS",
                durable="billing",
                ack_wait_s=45.0,
                max_deliver=5,
                max_ack_pending=128,
            ),
            retries=4,
            backoff=BackoffConfig(initial_s=0.2, max_s=60.0),
            dead_letter="orders.dlq",
            reply_subject="billing.results",
        ),
    )
    assert queue == Trigger(
        kind="nats",
        target=Target(function="hello", revision=1),
        config=NatsTriggerConfig(
            servers=("nats://127.0.0.1:4222",), subject="audit.>", queue="auditors"
        ),
    )
    for trigger in (stream, queue):
        assert trigger.kind == "nats"
        assert NatsTriggerConfig.from_dict(trigger.config.to_dict()) == trigger.config
        # The stored shape is also valid gaia.yaml, read back to the same model.
        [again] = nats_triggers(base, trigger.config.to_dict())
        assert again.config == trigger.config


def test_defaults(base: Path) -> None:
    [trigger] = nats_triggers(base, {"servers": "127.0.0.1:4222", "subject": "orders.>"})
    assert trigger.target == Target(function="hello", alias="default")
    config = trigger.config
    assert config == NatsTriggerConfig(servers=("nats://127.0.0.1:4222",), subject="orders.>")
    assert (config.queue, config.jetstream, config.retries) == (None, None, 2)
    assert (config.backoff.initial_s, config.backoff.max_s) == (0.1, 30.0)
    assert (config.dead_letter, config.reply_subject) == (None, None)
    assert config.queue_for("hello") == "gaia-hello"
    assert config.max_attempts == 3
    assert NatsTriggerConfig.from_dict(config.to_dict()) == config


def test_jetstream_defaults(base: Path) -> None:
    config = nats(base, subject="orders.created", jetstream={"stream": "ORDERS"})
    assert config.jetstream == JetStreamConfig(stream="ORDERS")
    assert config.jetstream.ack_wait_s == 30.0
    assert (config.jetstream.durable, config.jetstream.max_deliver) == (None, None)
    assert config.jetstream.max_ack_pending == 64
    assert config.durable_for("hello") == "gaia-hello-orders_created"
    assert NatsTriggerConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ("nats://localhost:4222", ("nats://localhost:4222",)),
        ("tls://nats.example.com:4443", ("tls://nats.example.com:4443",)),
        ("localhost:4222", ("nats://localhost:4222",)),
        ("a:4222, tls://b:4443,c:1", ("nats://a:4222", "tls://b:4443", "nats://c:1")),
        (["nats://a:4222", "b:65535"], ("nats://a:4222", "nats://b:65535")),
        ("[::1]:4222", ("nats://[::1]:4222",)),
        ("a:4222,nats://a:4222", ("nats://a:4222",)),
    ],
)
def test_servers_forms(base: Path, servers: object, expected: tuple[str, ...]) -> None:
    assert nats(base, servers=servers).servers == expected


@pytest.mark.parametrize(
    "subject", ["orders", "orders.created", "orders.*", "*.created", "*", ">", "a.*.>", "A-b_c.$x"]
)
def test_subject_forms(base: Path, subject: str) -> None:
    assert nats(base, subject=subject).subject == subject


@pytest.mark.parametrize(
    ("subject", "output"),
    [
        ("orders.>", "orders"),  # > needs at least one more token
        ("orders.*", "orders.a.b"),
        ("orders.*", "order.a"),
        ("orders.created", "orders.created.dlq"),
        ("*.created", "created"),
    ],
)
def test_outputs_outside_the_subject_are_fine(base: Path, subject: str, output: str) -> None:
    config = nats(base, subject=subject, dead_letter=output, reply_subject=output)
    assert (config.dead_letter, config.reply_subject) == (output, output)


def test_http_kafka_and_nats_triggers_mix(base: Path) -> None:
    text = """\
    functions:
      hello:
        code: functions/hello
        triggers:
          - http: {path: /hello}
          - kafka: {brokers: 127.0.0.1:9092, topic: orders}
          - nats: {servers: nats://127.0.0.1:4222, subject: orders.>}
    """
    http, kafka, subject = parse(base, text).functions["hello"].triggers
    assert http.kind == "http"
    assert kafka.kind == "kafka"
    assert subject.kind == "nats"


def test_distinct_consumers_of_one_function_are_fine(base: Path) -> None:
    triggers = nats_triggers(
        base,
        {"servers": "a:1", "subject": "orders.>"},
        {"servers": "a:1", "subject": "orders.>", "queue": "audit"},
        {"servers": "a:1", "subject": "refunds.>"},
        {"servers": "a:1", "subject": "orders.>", "jetstream": {"stream": "ORDERS"}},
        {"servers": "a:1", "subject": "orders.>", "jetstream": {"stream": "OTHER"}},
        {
            "servers": "a:1",
            "subject": "orders.>",
            "jetstream": {"stream": "ORDERS", "durable": "x"},
        },
    )
    assert len(triggers) == 6


# --- mistakes -------------------------------------------------------------------------

SERVERS = (
    "expected nats://host:port or tls://host:port like nats://127.0.0.1:4222"
    " (port 1 to 65535), a comma-separated string of them or a list of them"
)
SUBJECT = "expected a NATS subject like orders.created, orders.* or orders.>"
LITERAL = "expected a NATS subject without wildcards like orders.dlq"
FEEDS = "would feed the trigger its own output: expected a subject the trigger does not"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"servers": None}, f"servers: {SERVERS}, got nothing"),
        ({"servers": "localhost"}, f"servers: {SERVERS}, got 'localhost'"),
        ({"servers": "nats://localhost"}, f"servers: {SERVERS}, got 'nats://localhost'"),
        ({"servers": "http://a:4222"}, f"servers: {SERVERS}, got 'http://a:4222'"),
        ({"servers": "nats://a:4222/x"}, f"servers: {SERVERS}, got 'nats://a:4222/x'"),
        ({"servers": "nats://u:p@a:4222"}, f"servers: {SERVERS}, got 'nats://u:p@a:4222'"),
        ({"servers": "a:0"}, f"servers: {SERVERS}, got 'a:0'"),
        ({"servers": "a:65536"}, f"servers: {SERVERS}, got 'a:65536'"),
        ({"servers": "a:4222,"}, f"servers: {SERVERS}, got an empty entry"),
        ({"servers": []}, f"servers: {SERVERS}, got a list"),
        ({"servers": ["a:4222", 4222]}, f"servers: {SERVERS}, got 4222"),
        ({"servers": 4222}, f"servers: {SERVERS}, got 4222"),
        ({"subject": None}, f"subject: {SUBJECT}, got nothing"),
        ({"subject": ""}, f"subject: {SUBJECT}, got ''"),
        ({"subject": 7}, f"subject: {SUBJECT}, got 7"),
        ({"subject": "orders..x"}, f"subject: {SUBJECT}, got 'orders..x', which has an empty"),
        ({"subject": ".orders"}, f"subject: {SUBJECT}, got '.orders', which has an empty token"),
        ({"subject": "orders."}, f"subject: {SUBJECT}, got 'orders.', which has an empty token"),
        ({"subject": "new orders"}, f"subject: {SUBJECT}, got 'new orders', which holds white"),
        ({"subject": "orders.\tx"}, f"subject: {SUBJECT}, got 'orders.\\tx', which holds white"),
        ({"subject": "orders*"}, f"subject: {SUBJECT}, got 'orders*', where * is not a whole"),
        ({"subject": "a.*b.c"}, f"subject: {SUBJECT}, got 'a.*b.c', where * is not a whole"),
        (
            {"subject": "orders.>.x"},
            f"subject: {SUBJECT}, got 'orders.>.x', where > is not the whole last token",
        ),
        ({"subject": "orders>"}, f"subject: {SUBJECT}, got 'orders>', where > is not the whole"),
        ({"queue": "a b"}, "queue: expected a queue group name of letters, digits, '.', '_'"),
        ({"queue": ""}, "queue: expected a queue group name of letters, digits, '.', '_' or"),
        ({"queue": 3}, "queue: expected a queue group name of letters, digits, '.', '_' or '-'"),
        ({"dead_letter": "a b"}, f"dead_letter: {LITERAL}, got 'a b', which holds whitespace"),
        ({"dead_letter": "dlq.*"}, f"dead_letter: {LITERAL}, got 'dlq.*', which holds a wildcard"),
        ({"dead_letter": "dlq.>"}, f"dead_letter: {LITERAL}, got 'dlq.>', which holds a wildcard"),
        ({"reply_subject": ""}, f"reply_subject: {LITERAL}, got ''"),
        ({"reply_subject": "a..b"}, f"reply_subject: {LITERAL}, got 'a..b', which has an empty"),
        (
            {"dead_letter": "orders.dlq"},
            "dead_letter: subject 'orders.dlq' matches this trigger's subject 'orders.>', so it"
            f" {FEEDS} subscribe to",
        ),
        (
            {"subject": "orders.*", "reply_subject": "orders.replies"},
            "reply_subject: subject 'orders.replies' matches this trigger's subject 'orders.*'",
        ),
        (
            {"subject": "orders", "dead_letter": "orders"},
            f"dead_letter: subject 'orders' matches this trigger's subject 'orders', so it {FEEDS}",
        ),
        (
            {"subject": ">", "reply_subject": "replies"},
            f"reply_subject: subject 'replies' matches this trigger's subject '>', so it {FEEDS}",
        ),
        (
            {"queue": "q", "jetstream": {"stream": "S"}},
            "queue: a JetStream trigger shares its messages between replicas through its durable"
            " consumer, not a queue group: expected queue or jetstream, not both",
        ),
        ({"subjekt": "x"}, "subjekt: unknown key 'subjekt': did you mean 'subject'?"),
        ({"stream": "S"}, "stream: unknown key 'stream': did you mean 'jetstream'?"),
        ({"partitions": 3}, "partitions: unknown key 'partitions': expected servers, subject,"),
    ],
)
def test_bad_keys(base: Path, keys: dict[str, object], expected: str) -> None:
    [issue] = issues(base, {**OK, **keys})
    prefix = "functions.hello.triggers[0].nats"
    assert issue.startswith(prefix + ("" if expected.startswith(":") else ".") + expected)


STREAM = "expected a stream name of letters, digits, '_' or '-'"


@pytest.mark.parametrize(
    ("jetstream", "expected"),
    [
        ("ORDERS", "expected a mapping with stream, durable, ack_wait, max_deliver or"),
        (None, f".stream: {STREAM}, got nothing"),
        ({}, f".stream: {STREAM}, got nothing"),
        ({"durable": "d"}, f".stream: {STREAM}, got nothing"),
        ({"stream": "ORDERS.v2"}, f".stream: {STREAM}, got 'ORDERS.v2'"),
        ({"stream": "a b"}, f".stream: {STREAM}, got 'a b'"),
        ({"stream": 5}, f".stream: {STREAM}, got 5"),
        (
            {"stream": "S", "durable": "a.b"},
            ".durable: expected a durable consumer name of letters, digits, '_' or '-', got 'a.b'",
        ),
        (
            {"stream": "S", "ack_wait": "500ms"},
            ".ack_wait: expected a duration from 1s to 1h, got '500ms'",
        ),
        ({"stream": "S", "ack_wait": "2h"}, ".ack_wait: expected a duration from 1s to 1h"),
        ({"stream": "S", "ack_wait": "x"}, ".ack_wait: expected a duration like 500ms"),
        (
            {"stream": "S", "max_deliver": 0},
            ".max_deliver: expected a whole number from 1 to 1000, got 0",
        ),
        (
            {"stream": "S", "max_deliver": 1001},
            ".max_deliver: expected a whole number from 1 to 1000, got 1001",
        ),
        (
            {"stream": "S", "max_ack_pending": 0},
            ".max_ack_pending: expected a whole number from 1 to 10000, got 0",
        ),
        (
            {"stream": "S", "max_ack_pending": 10001},
            ".max_ack_pending: expected a whole number from 1 to 10000, got 10001",
        ),
        ({"stream": "S", "durabel": "d"}, ".durabel: unknown key 'durabel': did you mean"),
    ],
)
def test_bad_jetstream(base: Path, jetstream: object, expected: str) -> None:
    [issue] = issues(base, {**OK, "jetstream": jetstream})
    prefix = "functions.hello.triggers[0].nats.jetstream"
    assert issue.startswith(prefix + (expected if expected.startswith(".") else f": {expected}"))


def test_jetstream_limits(base: Path) -> None:
    limits = {"stream": "S", "ack_wait": "1s", "max_deliver": 1, "max_ack_pending": 1}
    assert nats(base, jetstream=limits).jetstream == JetStreamConfig(
        stream="S", ack_wait_s=1.0, max_deliver=1, max_ack_pending=1
    )
    limits = {"stream": "S", "ack_wait": "1h", "max_deliver": 1000, "max_ack_pending": 10000}
    assert nats(base, jetstream=limits).jetstream == JetStreamConfig(
        stream="S", ack_wait_s=3600.0, max_deliver=1000, max_ack_pending=10000
    )


def test_two_triggers_in_one_durable_consumer(base: Path) -> None:
    # One subject derives one durable, so the two would split the messages.
    assert issues(
        base,
        {**OK, "jetstream": {"stream": "ORDERS"}},
        {**OK, "jetstream": {"stream": "ORDERS"}, "alias": "prod"},
    ) == [
        "functions.hello.triggers[1].nats.jetstream: durable consumer 'gaia-hello-orders_rest' of"
        " stream 'ORDERS' is also the consumer of functions.hello.triggers[0], and triggers"
        " sharing a durable consumer split its messages between them: expected a durable: of"
        " its own for this trigger"
    ]
    [issue] = issues(
        base,
        {**OK, "subject": "a", "jetstream": {"stream": "S", "durable": "shared"}},
        {**OK, "subject": "b", "jetstream": {"stream": "S", "durable": "shared"}},
    )
    assert issue.startswith(
        "functions.hello.triggers[1].nats.jetstream.durable: durable consumer 'shared' of"
        " stream 'S' is also the consumer of functions.hello.triggers[0]"
    )


def test_wildcards_derive_distinct_durables() -> None:
    def durable(subject: str) -> str:
        config = NatsTriggerConfig(
            servers=("nats://a:4222",), subject=subject, jetstream=JetStreamConfig(stream="S")
        )
        return config.durable_for("hello")

    assert durable("orders.*") == "gaia-hello-orders_star"
    assert durable("orders.>") == "gaia-hello-orders_rest"
    assert durable("orders.created") == "gaia-hello-orders_created"


def test_two_triggers_in_one_queue_group_on_one_subject(base: Path) -> None:
    assert issues(base, OK, {**OK, "servers": "b:4222"}) == [
        "functions.hello.triggers[1].nats: queue group 'gaia-hello' on subject 'orders.>' is"
        " also the queue group of functions.hello.triggers[0], and triggers sharing a queue"
        " group split its messages between them: expected a queue: of its own for this trigger"
    ]
    [issue] = issues(base, {**OK, "queue": "q"}, {**OK, "queue": "q"})
    assert issue.startswith("functions.hello.triggers[1].nats.queue: queue group 'q' on subject")


def test_two_functions_in_one_durable_consumer(base: Path) -> None:
    text = """
        functions:
          hello:
            code: functions/hello
            triggers: [{nats: {servers: "a:1", subject: x, jetstream: {stream: S, durable: d}}}]
          other:
            code: functions/hello
            triggers: [{nats: {servers: "a:1", subject: y, jetstream: {stream: S, durable: d}}}]
    """
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    [issue] = info.value.errors
    assert issue.path == "functions.other.triggers[0].nats.jetstream.durable"
    assert "also the consumer of functions.hello.triggers[0]" in issue.message


def test_issues_carry_lines(base: Path) -> None:
    text = FULL.replace("max_deliver: 5", "max_deliver: many")
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    [issue] = info.value.errors
    assert (issue.path, issue.line) == (
        "functions.hello.triggers[0].nats.jetstream.max_deliver",
        20,
    )
    assert "expected a whole number from 1 to 1000, got 'many'" in issue.message
