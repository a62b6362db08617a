"""Kafka triggers: records of topics, consumed in a group (`- kafka: {...}`)."""

from __future__ import annotations

from triggers.kafka.config import KafkaTriggerConfig
from triggers.kafka.state import KafkaState
from triggers.kind import Claim, TriggerKind


def _identity(function: str, config: KafkaTriggerConfig) -> str:
    return f"kafka {','.join(config.topics)} group {config.group_for(function)}"


def _claims(function: str, config: KafkaTriggerConfig) -> tuple[Claim, ...]:
    # Two triggers in one consumer group would split its messages between them, in
    # one function or across functions.
    group = config.group_for(function)
    return (
        Claim(
            key=("kafka group", group),
            at="group" if config.group is not None else "",
            clash=lambda first: (
                f"consumer group {group!r} is also the group of {first}, and"
                " triggers sharing a group split its messages between them: expected a group:"
                " of its own for this trigger"
            ),
        ),
    )


def _partitions(state: KafkaState) -> tuple[list[str], list[list[object]]]:
    def dash(value: object) -> object:
        return "-" if value is None else value

    rows: list[list[object]] = [
        [
            p["topic"],
            p["partition"],
            dash(p["committed"]),
            dash(p["highwater"]),
            dash(p["lag"]),
            p["in_flight"],
            f"at {p['stuck']['offset']}: {p['stuck']['error']}" if p["stuck"] else "",
        ]
        for p in state.partitions
    ]
    headers = ["topic", "partition", "committed", "highwater", "lag", "in flight", "stuck"]
    return headers, rows


KIND = TriggerKind(
    name="kafka",
    description="records of Kafka topics, consumed in a consumer group",
    state=KafkaState,
    config=KafkaTriggerConfig,
    subscriber="triggers.kafka.subscriber:build",
    identity=_identity,
    claims=_claims,
    source=lambda spec: ",".join(spec["topics"]),
    details=("group", "ordering"),
    table=_partitions,
)
