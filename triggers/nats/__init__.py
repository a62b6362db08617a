"""NATS triggers: messages on a subject, core NATS or JetStream (`- nats: {...}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triggers.kind import Claim, TriggerKind
from triggers.nats.config import NatsTriggerConfig
from triggers.nats.state import NatsState


def _identity(function: str, config: NatsTriggerConfig) -> str:
    if config.jetstream is not None:
        durable = config.durable_for(function)
        return f"nats {config.subject} stream {config.jetstream.stream} durable {durable}"
    return f"nats {config.subject} queue {config.queue_for(function)}"


def _claims(function: str, config: NatsTriggerConfig) -> tuple[Claim, ...]:
    # Two triggers in one JetStream durable consumer, or in one queue group on the same
    # subject, would split its messages between them.
    if config.jetstream is None:
        queue, subject = config.queue_for(function), config.subject
        return (
            Claim(
                key=("nats queue", subject, queue),
                at="queue" if config.queue is not None else "",
                clash=lambda first: (
                    f"queue group {queue!r} on subject {subject!r} is also"
                    f" the queue group of {first}, and triggers sharing a queue group split its"
                    " messages between them: expected a queue: of its own for this trigger"
                ),
            ),
        )
    stream, durable = config.jetstream.stream, config.durable_for(function)
    return (
        Claim(
            key=("nats durable", stream, durable),
            at="jetstream.durable" if config.jetstream.durable is not None else "jetstream",
            clash=lambda first: (
                f"durable consumer {durable!r} of stream {stream!r} is also the"
                f" consumer of {first}, and triggers sharing a durable consumer split its"
                " messages between them: expected a durable: of its own for this trigger"
            ),
        ),
    )


def _source(spec: Mapping[str, Any]) -> str:
    stream = spec.get("jetstream")
    return f"{spec['subject']} (stream {stream['stream']})" if stream else str(spec["subject"])


KIND = TriggerKind(
    name="nats",
    description="messages on a NATS subject, core NATS or JetStream",
    state=NatsState,
    config=NatsTriggerConfig,
    subscriber="triggers.nats.subscriber:build",
    identity=_identity,
    claims=_claims,
    source=_source,
    details=("queue", "durable", "pending", "ack_pending", "redelivered", "lost"),
)
