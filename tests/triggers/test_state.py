"""Typed trigger state: what each kind reports, its JSON, and the JSON read back (as the
CLI reads the admin API's answer)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gateway.cli import triggers as cli_triggers
from triggers import registry
from triggers.cron.state import CronState
from triggers.kafka.state import KafkaState
from triggers.nats.state import NatsState
from triggers.redis.state import RedisState, StuckEntry
from triggers.state import TriggerState

KAFKA = KafkaState(
    status="running",
    group="g",
    topics=["orders"],
    ordering="key",
    partitions=[{"topic": "orders", "partition": 0, "lag": 3}],
    lag=3,
    processed=5,
    retried=1,
    dead_lettered=1,
    stuck=1,
    stuck_times=2,
)
CORE = NatsState(status="running", subject="a.>", queue="gaia-fn", lost=1, processed=2)
JETSTREAM = NatsState(
    status="running",
    subject="a.>",
    stream="S",
    durable="d",
    redelivered=2,
    dead_letter_failed=0,
    lag=4,
    pending=4,
    ack_pending=1,
)
CRON = CronState(
    status="running",
    schedule="@hourly",
    timezone="UTC",
    lease="local",
    replica="r",
    next="2026-11-29T10:00:00.000Z",
    processed=3,
    missed=1,
)
REDIS = RedisState(
    status="running",
    stream="orders",
    group="gaia-fn",
    consumer="r1",
    ordering="stream",
    pending=1,
    lag=0,
    in_flight=1,
    retried=4,
    claimed=2,
    stuck=1,
    stuck_entries=(StuckEntry(entry="5-0", error="WRONGTYPE", since=100.0, retry_at=130.0),),
)


@pytest.mark.parametrize(
    "state", [KAFKA, CORE, JETSTREAM, CRON, REDIS], ids=lambda s: type(s).__name__
)
def test_the_json_reads_back_into_the_same_state(state: TriggerState) -> None:
    shown = json.loads(json.dumps(state.to_dict()))
    assert type(state).from_dict(shown) == state
    assert type(state).from_dict({**shown, "from_a_newer_gateway": 1}) == state


def test_each_kind_shows_only_what_it_reports() -> None:
    assert set(CORE.to_dict()) - set(JETSTREAM.to_dict()) == {"queue", "lost"}
    assert set(JETSTREAM.to_dict()) - set(CORE.to_dict()) == {
        "stream",
        "durable",
        "redelivered",
        "dead_letter_failed",
        "lag",
        "pending",
        "ack_pending",
    }
    assert "stuck" not in CORE.to_dict() and KAFKA.to_dict()["stuck"] == 1
    assert {"retried", "dead_lettered", "lag", "stuck"}.isdisjoint(CRON.to_dict())
    assert (KAFKA.partition_count(), CRON.partition_count()) == (1, None)


def test_each_kind_names_its_state_type_and_its_detail_fields() -> None:
    for kind in registry.kinds():
        if kind.subscriber is None:
            continue
        fields = set(kind.state.__dataclass_fields__)
        assert kind.state is not TriggerState and set(kind.details) <= fields, kind.name


def test_a_trigger_not_running_shows_the_common_fields_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trigger = {"id": "fn/kafka/0", "kind": "kafka", "function": "fn", "alias": "default"}

    class NotRunning:
        """The admin API's answer for a kafka trigger with no subscriber running."""

        def call(self, method: str, path: str) -> object:
            return {**trigger, "topics": ["t"], "state": None}

    monkeypatch.setattr(cli_triggers, "AdminClient", NotRunning)
    result = CliRunner().invoke(cli_triggers.triggers, ["show", "fn/kafka/0"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "fn/kafka/0  t -> fn:default",
        "status: not running  in flight: 0  ",
        "processed: 0  retried: 0  dead-lettered: 0  lag: -",
    ]
