"""`- nats: {...}` triggers in gaia.yaml: validation into NatsTriggerConfig, and what
applying them stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import (
    ConfigError,
    GaiaFile,
    HttpTriggerConfig,
    KafkaTrigger,
    NatsTrigger,
)
from gateway.control import ControlPlane
from gateway.store import MemoryStore, TriggerRecord
from routing.names import Target
from tests.gateway.trigger_kit import ALIASES, issues_of, make_base, parse, triggers_of
from triggers.nats.config import JetStreamConfig, NatsTriggerConfig

Parse = Callable[..., GaiaFile]

FULL = """\
functions:
  hello:
    code: ./functions/hello
    aliases:
      prod:
        traffic:
          - {revision: 1, percent: 100}
          - {revision: latest, percent: 0, tag: canary}
    triggers:
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


# The keys every trigger needs, for tests that vary the others.
OK: dict[str, object] = {"servers": "a:4222", "subject": "orders.>"}


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return make_base(tmp_path)


def nats_triggers(base: Path, *triggers: dict[str, object], **keys: object) -> list[NatsTrigger]:
    return triggers_of(base, "nats", NatsTrigger, *triggers, **keys)


def nats(base: Path, **keys: object) -> NatsTriggerConfig:
    """The model of one trigger `- nats: {servers: a:4222, subject: orders.>, **keys}`."""
    [trigger] = nats_triggers(base, {**OK, **keys})
    return trigger.nats


def issues(base: Path, *triggers: dict[str, object]) -> list[str]:
    return issues_of(base, "nats", *triggers)


# --- valid triggers -------------------------------------------------------------------


def test_a_full_trigger_round_trips_through_the_stored_shape(base: Path) -> None:
    stream, queue = parse(base, FULL).functions["hello"].triggers

    assert stream == NatsTrigger(
        target=Target(function="hello", alias="prod"),
        nats=NatsTriggerConfig(
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
            backoff_initial_s=0.2,
            backoff_max_s=60.0,
            dead_letter="orders.dlq",
            reply_subject="billing.results",
        ),
    )
    assert queue == NatsTrigger(
        target=Target(function="hello", revision=1),
        nats=NatsTriggerConfig(
            servers=("nats://127.0.0.1:4222",), subject="audit.>", queue="auditors"
        ),
    )
    for trigger in (stream, queue):
        assert isinstance(trigger, NatsTrigger)
        assert NatsTriggerConfig.from_dict(trigger.nats.to_dict()) == trigger.nats
        # The stored shape is also valid gaia.yaml, read back to the same model.
        [again] = nats_triggers(base, trigger.nats.to_dict())
        assert again.nats == trigger.nats


def test_defaults(base: Path) -> None:
    [trigger] = nats_triggers(base, {"servers": "127.0.0.1:4222", "subject": "orders.>"})
    assert trigger.target == Target(function="hello", alias="default")
    config = trigger.nats
    assert config == NatsTriggerConfig(servers=("nats://127.0.0.1:4222",), subject="orders.>")
    assert (config.queue, config.jetstream, config.retries) == (None, None, 2)
    assert (config.backoff_initial_s, config.backoff_max_s) == (0.1, 30.0)
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


def test_partial_backoff_takes_the_other_default(base: Path) -> None:
    config = nats(base, backoff={"max": "5s"}, retries=0)
    assert (config.retries, config.backoff_initial_s, config.backoff_max_s) == (0, 0.1, 5.0)
    assert nats(base, backoff={"initial": "2s"}).backoff_max_s == 30.0


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


def test_pins_work_as_for_http(base: Path) -> None:
    triggers = nats_triggers(
        base,
        {"servers": "a:1", "subject": "t1", "alias": "prod"},
        {"servers": "a:1", "subject": "t2", "revision": 3},
        {"servers": "a:1", "subject": "t3", "tag": "b"},
        aliases=ALIASES,
    )
    assert [t.target for t in triggers] == [
        Target(function="hello", alias="prod"),
        Target(function="hello", revision=3),
        Target(function="hello", alias="prod", tag="b"),
    ]
    assert triggers[2].tag == "b"


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
    assert isinstance(http, HttpTriggerConfig)
    assert isinstance(kafka, KafkaTrigger)
    assert isinstance(subject, NatsTrigger)


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
        ({"retries": -1}, "retries: expected a whole number from 0 to 100, got -1"),
        ({"retries": 101}, "retries: expected a whole number from 0 to 100, got 101"),
        ({"retries": True}, "retries: expected a whole number from 0 to 100, got true"),
        ({"backoff": "1s"}, "backoff: expected a mapping with initial or max, got '1s'"),
        ({"backoff": {"initial": "0s"}}, "backoff.initial: expected a duration longer than 0s"),
        (
            {"backoff": {"initial": "10s", "max": "1s"}},
            "backoff.max: expected initial at most max, got initial 10s and max 1s",
        ),
        (
            {"backoff": {"initial": "1m"}},
            "backoff.initial: expected initial at most max, got initial 1m and max 30s",
        ),
        ({"backoff": {"maximum": "1s"}}, "backoff.maximum: unknown key 'maximum': did you mean"),
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
        (
            {"alias": "canary"},
            "alias: alias 'canary' is not defined under aliases: expected default or prod",
        ),
        ({"alias": "prod", "tag": "b"}, ": expected at most one of alias, revision or tag"),
        (
            {"revision": 0},
            "revision: invalid revision 0: expected a positive integer (at most 2^63-1)",
        ),
        ({"tag": "c"}, "tag: tag 'c' is not defined: expected one of b"),
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


def test_a_trigger_that_is_not_a_mapping(base: Path) -> None:
    assert issues(base, ["orders"]) == [  # type: ignore[arg-type]
        "functions.hello.triggers[0].nats: expected a mapping with servers, subject, queue,"
        " jetstream, retries, backoff, dead_letter, reply_subject, alias, revision or tag,"
        " got a list"
    ]


def test_an_empty_trigger_names_both_required_keys(base: Path) -> None:
    assert issues(base, {}) == [
        f"functions.hello.triggers[0].nats.servers: {SERVERS}, got nothing",
        f"functions.hello.triggers[0].nats.subject: {SUBJECT}, got nothing",
    ]


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


# --- applying -------------------------------------------------------------------------

APPLY = """
functions:
  hello:
    code: ./hello
    aliases:
      prod: {traffic: [{revision: latest, percent: 100}]}
    triggers:
      - http: {path: /hello}
      - nats: {servers: "127.0.0.1:4222", subject: orders.>, alias: prod}
      - nats:
          servers: "nats://127.0.0.1:4222"
          subject: audit.created
          jetstream: {stream: AUDIT, durable: auditors}
          revision: 1
"""


async def test_apply_stores_nats_trigger_records(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse
) -> None:
    file = gaia_file(APPLY, code={"hello": "v1"})
    [plan] = await control.apply(file)

    assert plan.triggers_added == (
        "http * /hello",
        "nats audit.created stream AUDIT durable auditors",
        "nats orders.> queue gaia-hello",
    )
    records = store.load().triggers
    assert records == control.state.triggers
    http, orders, audit = records
    assert http.kind == "http"
    assert orders == TriggerRecord(
        id="hello/nats/1",
        function="hello",
        kind="nats",
        spec={
            "servers": ["nats://127.0.0.1:4222"],
            "subject": "orders.>",
            "retries": 2,
            "backoff": {"initial": 0.1, "max": 30.0},
            "alias": "prod",
        },
    )
    assert audit.id == "hello/nats/2"
    assert audit.spec["jetstream"] == {
        "stream": "AUDIT",
        "durable": "auditors",
        "ack_wait": 30.0,
        "max_ack_pending": 64,
    }
    assert audit.spec["revision"] == 1
    assert "alias" not in audit.spec
    config = file.functions["hello"].triggers[1]
    assert isinstance(config, NatsTrigger)
    assert NatsTriggerConfig.from_dict(orders.spec) == config.nats
    # Only HTTP triggers are routes.
    assert [route.trigger_id for route in control.snapshot.routes.routes] == ["hello/http/0"]

    # Applying the same file again changes no trigger; a new durable replaces one.
    [again] = await control.apply(gaia_file(APPLY))
    assert (again.triggers_added, again.triggers_removed) == ((), ())
    [moved] = await control.apply(gaia_file(APPLY.replace("auditors", "auditors-2")))
    assert moved.triggers_added == ("nats audit.created stream AUDIT durable auditors-2",)
    assert moved.triggers_removed == ("nats audit.created stream AUDIT durable auditors",)


async def test_a_nats_trigger_keeps_its_tag_pin(control: ControlPlane, gaia_file: Parse) -> None:
    text = """
functions:
  hello:
    code: ./hello
    aliases:
      prod:
        traffic:
          - {revision: latest, percent: 100}
          - {revision: 1, percent: 0, tag: old}
    triggers:
      - nats: {servers: "a:4222", subject: orders.created, queue: billing, tag: old}
"""
    await control.apply(gaia_file(text, code={"hello": "v1"}))
    [record] = control.state.triggers
    assert record.kind == "nats"
    assert (record.spec["alias"], record.spec["tag"], record.spec["queue"]) == (
        "prod",
        "old",
        "billing",
    )
