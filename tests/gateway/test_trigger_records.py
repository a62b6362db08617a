"""What applying a file with event-source triggers stores: one record per trigger, its
spec the kind's stored form plus its target, and the plan's trigger identities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from gateway.config import FunctionConfig, GaiaFile, Trigger
from gateway.control import ControlPlane
from gateway.errors import InvalidInput
from gateway.store import MemoryStore, TriggerRecord
from routing.names import Target
from triggers.kafka.config import KafkaTriggerConfig
from triggers.registry import kind

Parse = Callable[..., GaiaFile]


# --- kafka ------------------------------------------------------------------------
APPLY_KAFKA = """
functions:
  hello:
    code: ./hello
    aliases:
      prod: {traffic: [{revision: latest, percent: 100}]}
    triggers:
      - http: {path: /hello}
      - kafka: {brokers: "127.0.0.1:9092", topics: [orders, refunds], alias: prod}
      - kafka: {brokers: "127.0.0.1:9092", topic: audit, group: auditors, revision: 1}
"""


async def test_apply_stores_kafka_trigger_records(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse
) -> None:
    file = gaia_file(APPLY_KAFKA, code={"hello": "v1"})
    [plan] = await control.apply(file)

    assert plan.triggers_added == (
        "http * /hello",
        "kafka audit group auditors",
        "kafka orders,refunds group gaia-hello-orders+refunds",
    )
    records = (await store.load()).triggers
    assert records == control.state.triggers
    http, orders, audit = records
    assert http.kind == "http"
    assert orders == TriggerRecord(
        id="hello/kafka/1",
        function="hello",
        kind="kafka",
        spec={
            "brokers": ["127.0.0.1:9092"],
            "topics": ["orders", "refunds"],
            "start": "latest",
            "ordering": "partition",
            "max_in_flight": 64,
            "retries": 2,
            "backoff": {"initial": 0.1, "max": 30.0},
            "session_timeout": 10.0,
            "alias": "prod",
        },
    )
    assert audit.id == "hello/kafka/2"
    assert audit.spec["group"] == "auditors"
    assert audit.spec["revision"] == 1
    assert "alias" not in audit.spec
    config = file.functions["hello"].triggers[1]
    assert config.kind == "kafka"
    assert kind("kafka").parse(orders.spec) == config.config
    # Only HTTP triggers are routes.
    assert [route.trigger_id for route in control.snapshot.routes.routes] == ["hello/http/0"]

    # Applying the same file again changes no trigger; a new group replaces one.
    [again] = await control.apply(gaia_file(APPLY_KAFKA))
    assert (again.triggers_added, again.triggers_removed) == ((), ())
    [moved] = await control.apply(gaia_file(APPLY_KAFKA.replace("auditors", "auditors-2")))
    assert moved.triggers_added == ("kafka audit group auditors-2",)
    assert moved.triggers_removed == ("kafka audit group auditors",)


async def test_a_kafka_trigger_on_an_undefined_alias_is_refused(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse
) -> None:
    file = gaia_file(APPLY_KAFKA, code={"hello": "v1"})
    config: FunctionConfig = file.functions["hello"]
    ghost = Trigger(
        kind="kafka",
        target=Target(function="hello", alias="ghost"),
        config=KafkaTriggerConfig(brokers=("a:9092",), topics=("orders",)),
    )
    broken = GaiaFile(functions={"hello": replace(config, triggers=(ghost,))})
    with pytest.raises(InvalidInput, match="hello:ghost") as refused:
        await control.apply(broken)
    assert refused.value.field == "functions.hello.triggers"
    assert (await store.load()).functions == ()


# --- nats -------------------------------------------------------------------------
APPLY_NATS = """
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
    file = gaia_file(APPLY_NATS, code={"hello": "v1"})
    [plan] = await control.apply(file)

    assert plan.triggers_added == (
        "http * /hello",
        "nats audit.created stream AUDIT durable auditors",
        "nats orders.> queue gaia-hello",
    )
    records = (await store.load()).triggers
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
    assert config.kind == "nats"
    assert kind("nats").parse(orders.spec) == config.config
    # Only HTTP triggers are routes.
    assert [route.trigger_id for route in control.snapshot.routes.routes] == ["hello/http/0"]

    # Applying the same file again changes no trigger; a new durable replaces one.
    [again] = await control.apply(gaia_file(APPLY_NATS))
    assert (again.triggers_added, again.triggers_removed) == ((), ())
    [moved] = await control.apply(gaia_file(APPLY_NATS.replace("auditors", "auditors-2")))
    assert moved.triggers_added == ("nats audit.created stream AUDIT durable auditors-2",)
    assert moved.triggers_removed == ("nats audit.created stream AUDIT durable auditors",)


# --- cron -------------------------------------------------------------------------
APPLY_CRON = """
functions:
  hello:
    code: ./hello
    aliases:
      prod: {traffic: [{revision: latest, percent: 100}]}
    triggers:
      - http: {path: /hello}
      - cron: {schedule: "*/5 * * * *", alias: prod, payload: {kind: report}}
      - cron:
          schedule: "0 9 * * mon-fri"
          timezone: Europe/Berlin
          lease: redis://127.0.0.1:6379/0
          overlap: allow
          revision: 1
"""


async def test_apply_stores_cron_trigger_records(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse
) -> None:
    file = gaia_file(APPLY_CRON, code={"hello": "v1"})
    [plan] = await control.apply(file)

    assert plan.triggers_added == (
        "cron */5 * * * * UTC",
        "cron 0 9 * * mon-fri Europe/Berlin",
        "http * /hello",
    )
    records = (await store.load()).triggers
    assert records == control.state.triggers
    http, report, morning = records
    assert http.kind == "http"
    assert report == TriggerRecord(
        id="hello/cron/1",
        function="hello",
        kind="cron",
        spec={
            "schedule": "*/5 * * * *",
            "timezone": "UTC",
            "payload": {"kind": "report"},
            "misfire_grace": 1.0,
            "coalesce": True,
            "overlap": "skip",
            "jitter": 0.0,
            "retries": 2,
            "backoff": {"initial": 0.1, "max": 30.0},
            "alias": "prod",
        },
    )
    assert morning.id == "hello/cron/2"
    assert (morning.spec["lease"], morning.spec["overlap"]) == ("redis://127.0.0.1:6379/0", "allow")
    assert morning.spec["revision"] == 1
    assert "alias" not in morning.spec
    config = file.functions["hello"].triggers[1]
    assert config.kind == "cron"
    assert kind("cron").parse(report.spec) == config.config
    # Only HTTP triggers are routes.
    assert [route.trigger_id for route in control.snapshot.routes.routes] == ["hello/http/0"]

    # Applying the same file again changes no trigger; a new time zone replaces one.
    [again] = await control.apply(gaia_file(APPLY_CRON))
    assert (again.triggers_added, again.triggers_removed) == ((), ())
    [moved] = await control.apply(gaia_file(APPLY_CRON.replace("Europe/Berlin", "Europe/Paris")))
    assert moved.triggers_added == ("cron 0 9 * * mon-fri Europe/Paris",)
    assert moved.triggers_removed == ("cron 0 9 * * mon-fri Europe/Berlin",)


@pytest.mark.parametrize(
    ("kind_name", "keys"),
    [
        ("kafka", 'brokers: "a:9092", topic: orders'),
        ("nats", 'servers: "a:4222", subject: orders'),
        ("cron", 'schedule: "@hourly"'),
    ],
)
async def test_a_trigger_keeps_its_tag_pin(
    control: ControlPlane, gaia_file: Parse, kind_name: str, keys: str
) -> None:
    text = f"""
functions:
  hello:
    code: ./hello
    aliases:
      prod:
        traffic:
          - {{revision: latest, percent: 100}}
          - {{revision: 1, percent: 0, tag: old}}
    triggers:
      - {kind_name}: {{{keys}, tag: old}}
"""
    await control.apply(gaia_file(text, code={"hello": "v1"}))
    [record] = control.state.triggers
    assert (record.kind, record.spec["alias"], record.spec["tag"]) == (kind_name, "prod", "old")
